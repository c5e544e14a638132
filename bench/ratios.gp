# ratios.gp - bench/run's chart: slowdown against native per kernel and
# runtime (a clustered histogram), with the issue's goal (10.3x) and
# wasm3's anchor (14.2x) as lines. Call with
#   gnuplot -e "datafile='chart.dat'; outfile='ratios.svg'" ratios.gp
set terminal svg size 900,420 font "sans,11" background rgb "white"
set output outfile
set title "Slowdown against native (gcc -O2); lower is better"
set ylabel "time / native time"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
set xtics rotate by -30
set arrow from graph 0, first 10.3 to graph 1, first 10.3 nohead dt 2 lw 1.5 lc rgb "#2a9d2a"
set label "goal 10.3x" at graph 0.99, first 10.3 right offset 0,0.6 tc rgb "#2a9d2a"
set arrow from graph 0, first 14.2 to graph 1, first 14.2 nohead dt 3 lw 1.5 lc rgb "#c03030"
set label "wasm3 14.2x" at graph 0.99, first 14.2 right offset 0,0.6 tc rgb "#c03030"
plot datafile using 2:xtic(1) title "graft" lc rgb "#3060c0", \
     '' using 3 title "graft --fuel" lc rgb "#80a0e0", \
     '' using 4 title "V8 (node 20, start-up incl.)" lc rgb "#e09030"
