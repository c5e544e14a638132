#!/usr/bin/env python3
"""summarize.py RAW_CSV OUT_DIR < INFO - bench/run's summary step.

RAW_CSV has one row per timed run: round,kernel,runtime,seconds,rss_kb.
INFO (stdin) is key=value lines from the runner (runs, load, compile
throughput). Writes OUT_DIR/summary.csv, OUT_DIR/table.md (also printed)
and OUT_DIR/chart.dat (gnuplot data for bench/ratios.gp).

A runtime's ratio for a kernel is the median over rounds of
(its time / native's time in the same round); the geomean is taken over
those per-kernel medians.
"""
import csv
import math
import statistics
import sys
from collections import defaultdict

RUNTIMES = ["graft", "graft-fuel", "node"]
LABEL = {"graft": "graft", "graft-fuel": "graft --fuel", "node": "V8 (node 20)"}


def main():
    raw, out = sys.argv[1], sys.argv[2]
    info = dict(line.rstrip("\n").split("=", 1) for line in sys.stdin if "=" in line)
    t = defaultdict(dict)      # (kernel, runtime) -> {round: seconds}
    rss = defaultdict(list)    # (kernel, runtime) -> [kb]
    kernels = []
    with open(raw) as f:
        for row in csv.DictReader(f):
            k, rt = row["kernel"], row["runtime"]
            if k not in kernels:
                kernels.append(k)
            t[(k, rt)][row["round"]] = float(row["seconds"])
            rss[(k, rt)].append(int(row["rss_kb"]))

    def ratio(k, rt):
        nat = t[(k, "native")]
        rs = [t[(k, rt)][r] / nat[r] for r in nat if r in t[(k, rt)] and nat[r] > 0]
        return statistics.median(rs) if rs else float("nan")

    def med(k, rt):
        return statistics.median(t[(k, rt)].values())

    def mb(k, rt):
        return statistics.median(rss[(k, rt)]) / 1024.0

    bench = [k for k in kernels if k != "hello"]
    lines = []
    lines.append("| kernel | native (s) | graft (s) | graft | graft --fuel | V8 (node 20) | wasm-interp "
                 "| peak RSS MB: native / graft / node |")
    lines.append("|---|---|---|---|---|---|---|---|")
    summary = [["kernel", "runtime", "median_seconds", "ratio_to_native", "median_rss_kb"]]
    ratios = {rt: [] for rt in RUNTIMES}
    for k in bench:
        row = [k, "%.3f" % med(k, "native"), "%.2f" % med(k, "graft")]
        for rt in RUNTIMES:
            r = ratio(k, rt)
            ratios[rt].append(r)
            row.append("%.1fx" % r)
        row.append("skipped (WASI)")
        row.append("%.1f / %.1f / %.1f" % (mb(k, "native"), mb(k, "graft"), mb(k, "node")))
        lines.append("| " + " | ".join(row) + " |")
        for rt in ["native"] + RUNTIMES:
            summary.append([k, rt, "%.6f" % med(k, rt),
                            "%.3f" % (1.0 if rt == "native" else ratio(k, rt)),
                            "%d" % statistics.median(rss[(k, rt)])])
    geo = {rt: math.exp(sum(math.log(x) for x in v) / len(v)) for rt, v in ratios.items()}
    lines.append("| **geomean** | | | **%.1fx** | **%.1fx** | **%.1fx** | | |"
                 % (geo["graft"], geo["graft-fuel"], geo["node"]))
    for rt in RUNTIMES:
        summary.append(["geomean", rt, "", "%.3f" % geo[rt], ""])

    lines.append("")
    if ("hello", "native") in t:
        hn = med("hello", "native")
        for rt in ["graft", "node"]:
            summary.append(["hello", rt, "%.6f" % med("hello", rt), "%.3f" % ratio("hello", rt),
                            "%d" % statistics.median(rss[("hello", rt)])])
        summary.append(["hello", "native", "%.6f" % hn, "1.000",
                        "%d" % statistics.median(rss[("hello", "native")])])
        lines.append("Start-up (hello world, load + validate + compile + instantiate + run + exit): "
                     "native %.2f ms, %.0f KB; graft %.2f ms = **%.2fx native**, peak RSS **%.2f MB**; "
                     "V8 (node) %.1f ms = %.0fx, %.0f MB."
                     % (hn * 1e3, statistics.median(rss[("hello", "native")]),
                        med("hello", "graft") * 1e3, ratio("hello", "graft"), mb("hello", "graft"),
                        med("hello", "node") * 1e3, ratio("hello", "node"), mb("hello", "node")))
        lines.append("")
    bc, bi = int(info.get("big_code", 0)), int(info.get("big_internal", 0))
    cc, ci = int(info.get("comp_code", 0)), int(info.get("comp_internal", 0))
    if bc:
        lines.append("Compile throughput (graft_module_load: decode + validate + compile, median of 20): "
                     "%d KB of code section in %.1f ms = **%s MB/s**. Internal code: %d bytes, "
                     "**%.2fx** the code section (composite kernel: %d / %d bytes = %.2fx, %s MB/s)."
                     % (bc // 1000, float(info["big_sec"]) * 1e3, info["big_mbs"], bi, bi / bc,
                        ci, cc, ci / cc if cc else 0, info.get("comp_mbs", "?")))
        lines.append("")
    lines.append("%s rounds, size %s; load average %s at the start, %s at the end. %s."
                 % (info.get("runs"), info.get("size"), info.get("load_start"), info.get("load_end"),
                    info.get("interp_note", "")))
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(out + "/table.md", "w") as f:
        f.write(text)
    with open(out + "/summary.csv", "w", newline="") as f:
        csv.writer(f).writerows(summary)
    with open(out + "/chart.dat", "w") as f:
        f.write("kernel graft graft-fuel node\n")
        for i, k in enumerate(bench):
            f.write("%s %.3f %.3f %.3f\n" % (k, ratios["graft"][i], ratios["graft-fuel"][i],
                                             ratios["node"][i]))
        f.write("geomean %.3f %.3f %.3f\n" % (geo["graft"], geo["graft-fuel"], geo["node"]))


if __name__ == "__main__":
    main()
