#!/usr/bin/env bash
# rust_modules.sh BUILD_DIR SOURCE_DIR - the Rust example modules
# (examples/modules/rust: moving_average, unit_converter):
#  1. builds them from source (examples/modules/build.sh into
#     BUILD/examples/modules, incremental);
#  2. `graft validate` accepts each; `graft inspect` shows that each imports
#     only iot_v1 functions and exports exactly memory, on_start,
#     graft_alloc, on_message and health, with one page of initial memory;
#     the manifest beside it names the module and asks for iot_v1;
#  3. runs both in the real graftd (BUILD/graftd) on known readings: CSV
#     replay drivers publish degC, Pa, m/s, W and lux readings on
#     sensors/NAME (and a second driver percent readings on sensors/t1,
#     so its unit changes back and forth), and what the modules publish (avg/NAME,
#     conv/NAME/UNIT), recorded with --dump-topic, is compared with values
#     computed here, independently, in awk from the readings graftd
#     delivered. Also through graftd: a payload that is not a reading and
#     an empty sensor name are rejected (counted in graftd's summary), a
#     reading of bad quality is ignored, nothing traps or is dropped, and
#     the memory stays at the one page the config allows.
# Not covered here, since graftd's drivers cannot produce them: readings of
# quality 1 (uncertain).
. "$(dirname "$0")/harness.bash" "$@"

MODS="$BUILD/examples/modules"
if ! bash "$SRC/examples/modules/build.sh" "$MODS" > "$WORK/build.log" 2>&1; then
  cat "$WORK/build.log" >&2
  abort "examples/modules/build.sh failed (log above)"
fi

MODULES="moving_average unit_converter"
for m in $MODULES; do
  wasm="$MODS/$m.wasm"
  [ -f "$wasm" ] || { fail "$m: no $wasm after the build"; continue; }
  run "$m.validate" "$GRAFT" validate "$wasm"
  check_rc "graft validate $m" 0
  check_out "$m.validate" ok

  run "$m.inspect" "$GRAFT" inspect "$wasm"
  check_rc "graft inspect $m" 0
  imports=$(awk '/^imports:/ { f = 1; next } /^[a-z]/ { f = 0 } f { print $2 }' "$WORK/$m.inspect.out" |
            sed 's/:$//' | sort -u)
  others=$(printf '%s\n' "$imports" | grep -v '^iot_v1\.[a-z_]*$' | grep -v '^$' || true)
  check_eq "$m imports only iot_v1 functions" "$others" ""
  exports=$(awk '/^exports:/ { f = 1; next } /^[a-z]/ { f = 0 } f' "$WORK/$m.inspect.out" |
            sed -n 's/^  [a-z]*\[[0-9]*\] "\([^"]*\)".*/\1/p' | sort | tr '\n' ' ')
  check_grep "$m.inspect" out '^imports: [1-9]'
  check_eq "$m exports" "$exports" "graft_alloc health memory on_message on_start "
  check_grep "$m.inspect" out '^  memory\[0\] "memory": min 1 pages'
  size=$(wc -c < "$wasm")
  if [ "$size" -le 16384 ]; then pass; else fail "$m.wasm is $size bytes (expected at most 16 KiB)"; fi

  manifest="$MODS/$m.json"
  if [ -f "$manifest" ]; then
    pass
    grep -q "\"name\": *\"$m\"" "$manifest" && grep -q '"host_api": *"iot_v1"' "$manifest" &&
      grep -q '"manifest_version": *1' "$manifest" && pass ||
      fail "$m.json: expected manifest_version 1, name \"$m\" and host_api iot_v1"
  else
    fail "$m: no manifest $manifest beside the module"
  fi
done

# ---- step 3: known readings in through graftd, published readings out ----
# One graftd runs both modules on the same readings: CSV replay drivers
# (timestamp,value rows; the driver gives the unit) publish on sensors/NAME,
# and --dump-topic '#' records every bus message with its reading decoded
# (value to 17 digits, unit, quality, the reading's own timestamp). The
# expected outputs are computed in awk from the readings graftd delivered,
# in the order it delivered them (a late sample may skip a CSV row, so the
# delivered readings, checked against the CSV, are the input).
GRAFTD="$BUILD/graftd"
[ -x "$GRAFTD" ] || abort "no graftd at $GRAFTD (build the 'graftd' target first)"
command -v curl > /dev/null || abort "curl is needed (reads graftd's /metrics)"
G="$WORK/graftd"
mkdir -p "$G"
GPID=
trap '[ -n "$GPID" ] && kill -KILL "$GPID" 2>/dev/null; chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

# csv NAME ROWS STEP_S FORMAT EXPR: NAME.csv with ROWS rows STEP_S apart,
# the value EXPR of the row index i printed with FORMAT.
csv() {
  awk -v n="$2" -v dt="$3" "BEGIN { print \"timestamp,value\"
    for (i = 0; i < n; i++) printf \"%.3f,$4\\n\", i * dt, $5 }" > "$G/$1.csv"
}
csv t1 60 0.025 %.6f '20 + i * 0.37 - (i % 3) * 1.1'         # degC: degF and K
csv t1u 4 0.4 %.1f '55.5 + i'                               # percent, also on sensors/t1
csv p1 60 0.025 %.3f '101325 + i * 13.5 - (i % 4) * 40.25'  # Pa: hPa
csv w1 30 0.05 %.4f '3.5 + i / 7'                           # m/s: km_h
csv e1 30 0.05 %.2f '1500 + i * 25.5 - (i % 5) * 3'         # W: kW
csv l1 12 0.125 %.1f '300 + i'                              # lux: no conversion
driver() {  # driver NAME UNIT INTERVAL_MS [TOPIC_NAME]
  printf '{ "name": "%s", "kind": "csv", "file": "%s.csv", "unit": "%s", "interval_ms": %s, "topic": "sensors/%s" }' \
    "$1" "$1" "$2" "$3" "${4:-$1}"
}
module() {  # module NAME PUBLISH_FILTER
  printf '{ "name": "%s", "wasm": "%s/%s.wasm", "grants": { "subscribe": ["sensors/+"], "publish": ["%s"] },
    "limits": { "memory_bytes": 65536 } }' "$1" "$MODS" "$1" "$2"
}
cat > "$G/config.json" <<JSON
{ "config_version": 1, "agent": { "name": "rust-modules" }, "http": { "port": 0 }, "state_dir": "state",
  "drivers": [ $(driver t1 degC 25), $(driver t1u percent 400 t1), $(driver p1 Pa 25),
               $(driver w1 m/s 50), $(driver e1 W 50), $(driver l1 lux 125) ],
  "modules": [ $(module moving_average 'avg/+'), $(module unit_converter 'conv/+/+') ] }
JSON

: > "$G/inject.txt"
(cd "$G" && exec "$GRAFTD" --config config.json --summary-every 1 --inject inject.txt \
   --dump-topic '#' --dump-file dump.jsonl 2> err.log) &
GPID=$!
for ((i = 0; i < 200; i++)); do
  grep -q '"msg":"graftd .* up:' "$G/err.log" 2>/dev/null && break
  kill -0 "$GPID" 2>/dev/null || break
  sleep 0.1
done
grep -q '"msg":"graftd .* up:' "$G/err.log" || abort "graftd did not come up" "$(tail -n 5 "$G/err.log")"
for m in $MODULES; do
  grep -qE "\"module\":\"$m\",\"msg\":\"started $m 0\\.1\\.0 \\(.*memory 65536\\)" "$G/err.log" \
    && pass || fail "graftd started $m with one page of memory" "$(grep "\"module\":\"$m\"" "$G/err.log" | head -n 3)"
done
# Injected text: two messages each module must reject (a payload that is
# not a 24-byte reading; a 24-byte one on sensors/, an empty sensor name),
# and 24 bytes on sensors/t1 that decode as a reading whose unit and
# quality are large numbers: bad quality, so moving_average ignores it, and
# no unit_converter rule. Ignored, its place among t1's readings (the
# injector and the drivers publish from different threads) cannot matter.
printf 'sensors/t1 short\nsensors/ 0123456789abcdefghijklmn\nsensors/t1 ABCDEFGHabcdefghijklmnop\n' >> "$G/inject.txt"
# Wait until every driver has delivered its CSV's last row (about 1.5 s;
# at most 15), then until the dump is still: the modules have caught up.
csvs_done() {
  local d last
  for d in t1 t1u p1 w1 e1 l1; do
    last=$(tail -n 1 "$G/$d.csv" | cut -d, -f2)
    grep -F "\"origin\":\"$d\"" "$G/dump.jsonl" | sed -n 's/.*"value":\([^,]*\),.*/\1/p' |
      awk -v v="$last" '$1 + 0 == v + 0 { f = 1 } END { exit !f }' || return 1
  done
}
for ((i = 0; i < 150; i++)); do csvs_done && break; sleep 0.1; done
for ((i = 0; i < 40; i++)); do
  n=$(wc -l < "$G/dump.jsonl"); sleep 0.4
  [ "$(wc -l < "$G/dump.jsonl")" = "$n" ] && break
done
# The memory gauge after all the messages: one page, as at the start.
port=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$G/err.log" | head -n 1)
curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" > "$G/metrics.txt" 2>&1 || fail "GET /metrics" "$(head -c 300 "$G/metrics.txt")"
for m in $MODULES; do
  check_eq "$m: graft_module_memory_bytes after the run" \
    "$(sed -n "s/^graft_module_memory_bytes{module=\"$m\"} \\([0-9]*\\)\$/\\1/p" "$G/metrics.txt")" 65536
done
kill -TERM "$GPID"
for ((i = 0; i < 150; i++)); do kill -0 "$GPID" 2>/dev/null || break; sleep 0.1; done
RC=0
wait "$GPID" || RC=$?
GPID=
check_eq "graftd exits 0 on SIGTERM" "$RC" 0

# The dump's readings as "ORIGIN TOPIC TIMESTAMP VALUE UNIT QUALITY".
sed -n 's/^{"ts_ns":[0-9]*,"topic":"\([^"]*\)","origin":"\([^"]*\)","len":24,"value":\([^,]*\),"unit":\([0-9]*\),"quality":\([0-9]*\),"sample_ns":\([0-9]*\)}$/\2 \1 \6 \3 \4 \5/p' \
  "$G/dump.jsonl" > "$G/readings.txt"
# The input: every reading on sensors/NAME, as "TOPIC TIMESTAMP VALUE
# UNIT QUALITY".
awk '$2 ~ /^sensors\/./ { print $2, $3, $4, $5, $6 }' "$G/readings.txt" > "$WORK/input.txt"
# Each driver's readings are its CSV's rows, in order, most of them.
for d in t1:60 t1u:4 p1:60 w1:30 e1:30 l1:12; do
  name=${d%%:*} want=${d##*:}
  awk -v d="$name" '$1 == d { print $4 }' "$G/readings.txt" > "$G/$name.got"
  if awk -F, 'BEGIN { i = 0 } NR == FNR { if (FNR > 1) v[n++] = $2 + 0; next } { while (i < n && v[i] != $1 + 0) i++; if (i == n) bad = 1; i++ }
              END { exit bad }' "$G/$name.csv" "$G/$name.got" && [ "$(wc -l < "$G/$name.got")" -ge $((want * 3 / 4)) ]; then pass
  else fail "sensor $name: its readings are its CSV's values in order (at least 3/4 of $want)" "$(wc -l < "$G/$name.got") readings: $(head -n 5 "$G/$name.got" | tr '\n' ' ')"; fi
done
[ "$(awk '$1 == "sensors/t1" && $4 == 2' "$WORK/input.txt" | wc -l)" -ge 3 ] \
  && pass || fail "sensors/t1 carries percent readings (driver t1u) as well: its unit changes"
# Its unit and quality bytes are no known codes, so the dump shows it as the
# text it is (docs/agent.md, "Observability"), not as a reading.
[ "$(awk '$1 == "sensors/t1" && $5 >= 2' "$WORK/input.txt" | wc -l)" -eq 0 ] \
  && [ "$(grep -cF '"topic":"sensors/t1","origin":"inject","len":24,"text":"ABCDEFGHabcdefghijklmnop"' "$G/dump.jsonl")" -eq 1 ] \
  && pass || fail "the injected 24 bytes of bad quality on sensors/t1 are in the input, shown as text" \
                  "$(grep -F 'ABCDEFGH' "$G/dump.jsonl" | head -2)"

# Expected outputs, computed from the input alone. Timestamps stay strings.
awk '{
  name = substr($1, 9); ts = $2; v = $3 + 0; unit = $4; q = $5
  if (q >= 2) next                                 # bad readings are ignored
  if (filled[name] > 0 && unit != u[name]) { filled[name] = 0; since[name] = 0; n[name] = 0 }
  u[name] = unit
  w[name, n[name] % 8] = v; wq[name, n[name] % 8] = q; n[name]++
  if (filled[name] < 8) filled[name]++
  if (++since[name] < 4) next
  since[name] = 0; sum = 0; worst = 0
  for (k = n[name] - filled[name]; k < n[name]; k++) {
    sum += w[name, k % 8]; if (wq[name, k % 8] > worst) worst = wq[name, k % 8]
  }
  printf "avg/%s %s %.17g %d %d\n", name, ts, sum / filled[name], unit, worst
}' "$WORK/input.txt" > "$WORK/moving_average.expected"
awk '{
  name = substr($1, 9); ts = $2; v = $3 + 0; unit = $4; q = $5
  if (unit == 1) { printf "conv/%s/degF %s %.17g 0 %d\n", name, ts, v * 1.8 + 32, q
                   printf "conv/%s/K %s %.17g 0 %d\n", name, ts, v + 273.15, q }
  if (unit == 3) printf "conv/%s/hPa %s %.17g 0 %d\n", name, ts, v * 0.01, q
  if (unit == 8) printf "conv/%s/km_h %s %.17g 0 %d\n", name, ts, v * 3.6, q
  if (unit == 9) printf "conv/%s/kW %s %.17g 0 %d\n", name, ts, v * 0.001, q
}' "$WORK/input.txt" > "$WORK/unit_converter.expected"
check_eq "unit_converter: the input covers every conversion" \
  "$(awk '{ sub(/.*\//, "", $1); print $1 }' "$WORK/unit_converter.expected" | sort -u | tr '\n' ' ')" "K degF hPa kW km_h "

# What each module published, in the order graftd delivered it.
awk '$1 == "moving_average" { print $2, $3, $4, $5, $6 }' "$G/readings.txt" > "$WORK/moving_average.got"
awk '$1 == "unit_converter" { print $2, $3, $4, $5, $6 }' "$G/readings.txt" > "$WORK/unit_converter.got"

# compare NAME: the published lines against the expected ones, values
# within a relative 1e-12, topic, timestamp, unit and quality exact.
compare() {
  local m=$1 diffs got want
  got=$(wc -l < "$WORK/$m.got"); want=$(wc -l < "$WORK/$m.expected")
  check_eq "$m: number of publishes" "$got" "$want"
  [ "$want" -gt 3 ] && pass || fail "$m: expected more than 3 publishes from the test input"
  diffs=$(paste -d' ' "$WORK/$m.got" "$WORK/$m.expected" | awk '{
    d = $3 - $8; if (d < 0) d = -d; e = $8 < 0 ? -$8 : $8; if (e < 1) e = 1
    if ($1 != $6 || $2 "" != $7 "" || $4 != $9 || $5 != $10 || d > 1e-12 * e)
      printf "line %d: got %s %s %s %s %s, expected %s %s %s %s %s\n", NR, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
  }' | head -n 5)
  check_eq "$m: published readings" "$diffs" ""
}

for m in $MODULES; do
  compare "$m"
  # its last summary: the two bad messages rejected, no trap, nothing dropped
  summary=$(grep "\"module\":\"$m\",\"msg\":\"summary\"" "$G/err.log" | tail -n 1)
  [[ "$summary" =~ \"rejected\":2,\"traps\":0,.*\"dropped\":0, ]] \
    && pass || fail "$m rejected the short payload and the empty sensor name, and nothing else; no trap, no drop" "$summary"
done

finish
