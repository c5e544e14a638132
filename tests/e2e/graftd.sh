#!/usr/bin/env bash
# graftd.sh - end-to-end tests of the gateway daemon: the real graftd with
# the example modules built from source (BUILD/examples/modules) on seeded
# CSV and simulated inputs. Every expected value is computed here, in awk,
# from the inputs (or from the readings graftd observably delivered), never
# taken from the modules. Observation: --dump-topic '#' writes every bus
# message as a JSON line; --inject feeds control messages; the JSON log on
# stderr; the kv SQLite file read with the sqlite3 CLI.
#
# Scenarios: the CSV -> moving_average -> threshold_alarm pipeline on values;
# a capability refusal (a rule publishing outside its grant: counted, logged,
# the module keeps running); a rule change at run time and its effect; a
# trapping WAT module restarted while the others keep flowing, then
# quarantined by a crash loop; kv persistence across a restart and after
# SIGKILL; /metrics; modules added and removed by SIGHUP reload (and a
# malformed reload refused); two graftds through a real Mosquitto; bad
# modules (an import without its grant, a missing export, an initial memory
# over the memory limit, a tight publish loop); a failing health probe on a
# short agent.health_period_ms, logged and on /metrics; SIGTERM exit 0; a
# malformed config; the short demo (DEMO_SECONDS=3).
. "$(dirname "$0")/harness.bash" "$@"

GRAFTD="$BUILD/graftd"
MODS="$BUILD/examples/modules"
[ -x "$GRAFTD" ] || abort "no graftd at $GRAFTD"
for m in moving_average threshold_alarm unit_converter rule_engine; do
  [ -f "$MODS/$m.wasm" ] || abort "no $MODS/$m.wasm (build the 'examples' target first)"
done
command -v wat2wasm >/dev/null || abort "wat2wasm is needed (wabt)"
command -v sqlite3 >/dev/null || abort "the sqlite3 CLI is needed"

PIDS=()
cleanup_pids() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; }
trap 'cleanup_pids; chmod -R u+w "$WORK" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
# wait_for and values come from harness.bash.

# start_graftd DIR: graftd on DIR/config.json in the background, bounded by
# timeout; the timeout's pid in GPID, graftd's in GD. Logs in DIR/err.log, dump in DIR/dump.jsonl.
start_graftd() {
  local dir=$1
  : >>"$dir/inject.txt"
  [ -f "$dir/err.log" ] && cat "$dir/err.log" >>"$dir/err.earlier"
  : >"$dir/err.log"
  (cd "$dir" && exec timeout -s KILL 90 "$GRAFTD" --config config.json --summary-every 1 \
     --inject inject.txt --dump-topic '#' --dump-file dump.jsonl 2>>err.log) &
  GPID=$!
  PIDS+=("$GPID")
  wait_for "$dir/err.log" '"msg":"graftd .* up:' 20 || fail "graftd in $dir did not come up" "$(tail -5 "$dir/err.log")"
  GD=$(pgrep -P "$GPID")   # graftd itself: signals go to it, not to timeout
  PIDS+=("$GD")
}

# stop_graftd: SIGTERM and the exit status in GRC.
stop_graftd() {
  kill -TERM "$GD" 2>/dev/null
  wait "$GPID"
  GRC=$?
}

# ---- the modules ------------------------------------------------------------
mkdir -p "$WORK/mods"
cp "$MODS"/*.wasm "$MODS"/*.json "$WORK/mods/"
cat >"$WORK/mods/trapper.wat" <<'WAT'
;; trapper: on a message whose payload starts with 'T' it traps
;; (unreachable); with 'L' it loops until its fuel runs out.
(module
  (memory (export "memory") 2)
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param $t i32) (param $tl i32) (param $p i32) (param $pl i32) (result i32)
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 84)) (then unreachable))
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 76)) (then (loop $l (br $l))))
    (i32.const 0)))
WAT
wat2wasm "$WORK/mods/trapper.wat" -o "$WORK/mods/trapper.wasm" || abort "wat2wasm trapper.wat"
cat >"$WORK/mods/trapper.json" <<'JSON'
{ "manifest_version": 1, "name": "trapper", "version": "1.0.0", "host_api": "iot_v1",
  "capabilities": { "subscribe": ["trap/#"] },
  "limits": { "fuel_per_event": 100000, "wall_ms_per_event": 50 } }
JSON

# The CSV input: 40 rows 50 ms apart, values 20 + (7 i mod 19).
awk 'BEGIN { print "timestamp,value"; for (i = 0; i < 40; i++) printf "%.2f,%d\n", i * 0.05, 20 + (7 * i) % 19 }' \
  >"$WORK/mods/t.csv"

# module_entry NAME GRANTS
mod() { printf '{ "name": "%s", "wasm": "%s/mods/%s.wasm", "grants": %s }' "$1" "$WORK" "$1" "$2"; }
MA=$(mod moving_average '{ "subscribe": ["sensors/+"], "publish": ["avg/+"] }')
TA=$(mod threshold_alarm '{ "subscribe": ["avg/+"], "publish": ["alarms/+"], "kv": { "quota_bytes": 4096 } }')
RE=$(mod rule_engine '{ "subscribe": ["sensors/+", "control/rule_engine"], "publish": ["alerts/#", "status/rule_engine"], "kv": { "quota_bytes": 8192 } }')
TR=$(mod trapper '{ "subscribe": ["trap/#"] }')
UC=$(mod unit_converter '{ "subscribe": ["sensors/+"], "publish": ["conv/+/+"] }')
AGENT='"agent": { "backoff_initial_ms": 50, "backoff_max_ms": 400, "crash_loop_traps": 3, "crash_loop_window_s": 60, "commit_window_ms": 50 }'
CSV_DRIVER="{ \"name\": \"t\", \"kind\": \"csv\", \"file\": \"$WORK/mods/t.csv\", \"interval_ms\": 50 }"
CSV_LOOP_DRIVER="{ \"name\": \"t\", \"kind\": \"csv\", \"file\": \"$WORK/mods/t.csv\", \"loop\": true, \"interval_ms\": 50 }"
SINE_DRIVER='{ "name": "s", "kind": "sine", "unit": "degC", "interval_ms": 50, "amplitude": 5, "offset": 20, "period_s": 2, "seed": 3 }'

config() {   # config DIR DRIVERS MODULES...
  local dir=$1 drivers=$2
  shift 2
  local IFS=,
  mkdir -p "$dir"
  printf '{ "config_version": 1, %s, "http": %s, "state_dir": "state",\n  "drivers": [ %s ],\n  "modules": [ %s ] }\n' \
    "$AGENT" "${HTTP:-{ \"enabled\": false \}}" "$drivers" "$*" >"$dir/config.json"
}

# ---- 1. pipeline, refusal, rule change, trap, quarantine ---------------------
A="$WORK/a"
HTTP='{ "port": 0 }' config "$A" "$CSV_DRIVER" "$MA" "$TA" "$RE" "$TR"
start_graftd "$A"
echo 'control/rule_engine t > 0 forbidden/x' >>"$A/inject.txt"
wait_for "$A/err.log" 'refused, not granted: .*forbidden/x' 10 \
  && pass || fail "a publish outside the grant is refused and logged" "$(grep rule_engine "$A/err.log" | tail -3)"
echo 'trap/a L' >>"$A/inject.txt"
wait_for "$A/err.log" '"module":"trapper","msg":"trap in on_message: [^"]*fuel' 10 \
  && pass || fail "the looping module is stopped by its fuel limit" "$(grep trapper "$A/err.log" | tail -3)"
grep -qE '"module":"trapper","msg":"trap in on_message.*"backtrace":' "$A/err.log" \
  && pass || fail "a trap is logged with its backtrace"
wait_for "$A/err.log" '"module":"trapper","msg":"restarting in 50 ms' 5 \
  && pass || fail "a trapped module is restarted after the initial backoff"
echo 'control/rule_engine t > 0 alerts/t/any' >>"$A/inject.txt"
wait_for "$A/dump.jsonl" '"topic":"status/rule_engine".*"text":"ok 1 rules"' 10 \
  && pass || fail "the rule change is acknowledged on status/rule_engine"
# An oversized message: rule_engine's max_message_bytes is 4096.
printf 'control/rule_engine %s\n' "$(head -c 5000 /dev/zero | tr '\0' x)" >>"$A/inject.txt"
sleep 2.5   # the CSV (2 s) runs out
echo 'trap/a T' >>"$A/inject.txt"
wait_for "$A/err.log" '"module":"trapper","msg":"restarting in 100 ms' 5 \
  && pass || fail "the backoff doubles on the second trap in a row"
echo 'trap/a T' >>"$A/inject.txt"
wait_for "$A/err.log" '"module":"trapper","msg":"quarantined: crash loop: 3 traps' 10 \
  && pass || fail "a crash loop quarantines the module" "$(grep trapper "$A/err.log" | tail -3)"
[ -s "$A/state/quarantine/trapper.txt" ] && grep -q "crash loop" "$A/state/quarantine/trapper.txt" \
  && pass || fail "the quarantine note says why"
# /metrics (the port was 0: graftd logs the one it got).
port=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$A/err.log" | head -1)
curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" >"$A/metrics.txt" 2>&1 || fail "GET /metrics" "$(cat "$A/metrics.txt")"
metric() { sed -n "s/^$1{module=\"$2\"} \([0-9.e+]*\)\$/\1/p" "$A/metrics.txt"; }
[ "$(metric graft_module_quarantined trapper)" = 1 ] && [ "$(metric graft_module_traps_total trapper)" = 3 ] \
  && [ "$(metric graft_module_restarts_total trapper)" = 2 ] && [ "$(metric graft_module_quarantined moving_average)" = 0 ] \
  && pass || fail "/metrics shows trapper quarantined after 3 traps and 2 restarts" "$(grep trapper "$A/metrics.txt" | head -8)"
[ "$(metric graft_module_refusals_total rule_engine)" -ge 1 ] 2>/dev/null \
  && pass || fail "/metrics counts rule_engine's refusals" "$(grep refusals "$A/metrics.txt")"
[ "$(metric graft_module_messages_in_total moving_average)" = "$(grep -c '"topic":"sensors/t"' "$A/dump.jsonl")" ] \
  && pass || fail "/metrics counts every reading into moving_average" "$(grep messages_in "$A/metrics.txt")"
stop_graftd
[ "$GRC" -eq 0 ] && pass || fail "SIGTERM exits 0" "status $GRC"
grep -q '"msg":"stopped: kv flushed"' "$A/err.log" && pass || fail "SIGTERM flushes kv"

# The pipeline on values. Readings really delivered, in order: they must be
# the CSV's values in order (a late sample may skip a row, never reorder).
values "$A/dump.jsonl" sensors/t >"$A/readings"
awk -F, 'NR > 1 { print $2 }' "$WORK/mods/t.csv" >"$A/csv"
if awk 'BEGIN { i = 0 } NR == FNR { v[n++] = $1; next } { while (i < n && v[i] != $1) i++; if (i == n) bad = 1; i++ } END { exit bad }' \
     "$A/csv" "$A/readings" && [ "$(wc -l <"$A/readings")" -ge 30 ]; then pass
else fail "sensors/t carries the CSV's values in order" "$(wc -l <"$A/readings") readings"; fi
# moving_average: after every 4th reading, the mean of the last 8 (fewer at first).
awk '{ w[n % 8] = $1; n++; if (n % 4 == 0) { m = n < 8 ? n : 8; s = 0
       for (k = n - m; k < n; k++) s += w[k % 8]; printf "%.9f\n", s / m } }' "$A/readings" >"$A/avg.expected"
values "$A/dump.jsonl" avg/t | awk '{ printf "%.9f\n", $1 }' >"$A/avg.got"
if [ -s "$A/avg.expected" ] && cmp -s "$A/avg.expected" "$A/avg.got"; then pass
else fail "avg/t is the moving average of the delivered readings" "expected $(tr '\n' ' ' <"$A/avg.expected")" "got      $(tr '\n' ' ' <"$A/avg.got")"; fi
# threshold_alarm behind it: alarm above 30, clear below 28, on changes only.
awk '{ v = $1 + 0; nx = st ? !(v < 28) : v > 30; if (nx != st) printf "%s %.2f\n", nx ? "alarm" : "clear", v; st = nx }' \
  "$A/avg.got" >"$A/alarms.expected"
grep -F '"topic":"alarms/t"' "$A/dump.jsonl" | sed -n 's/.*\\"state\\":\\"\([a-z]*\)\\",\\"value\\":\([-0-9.]*\).*/\1 \2/p' >"$A/alarms.got"
if [ -s "$A/alarms.expected" ] && cmp -s "$A/alarms.expected" "$A/alarms.got"; then pass
else fail "alarms/t follows the averages with hysteresis" "expected $(tr '\n' ' ' <"$A/alarms.expected")" "got      $(tr '\n' ' ' <"$A/alarms.got")"; fi
# The refused rule: counted, and rule_engine kept running (it took the next rule set).
grep '"module":"rule_engine","msg":"summary"' "$A/err.log" | tail -1 | grep -qE '"state":"running".*"refused":[1-9]' \
  && pass || fail "the refusal is counted and rule_engine keeps running" "$(grep '"module":"rule_engine","msg":"summary"' "$A/err.log" | tail -1)"
grep '"module":"rule_engine","msg":"summary"' "$A/err.log" | tail -1 | grep -qE '"oversize":1[,}]' \
  && grep -q '"topic":"status/rule_engine".*"text":"ok 1 rules"' "$A/dump.jsonl" && ! grep -q '"text":"error' "$A/dump.jsonl" \
  && pass || fail "a message over the module's size limit is dropped before it and counted" "$(grep '"module":"rule_engine","msg":"summary"' "$A/err.log" | tail -1)"
# The rule change's effect: one alert per reading after it, with its value.
grep -F '"topic":"alerts/t/any"' "$A/dump.jsonl" | sed -n 's/.*\\"value\\":\([-0-9.]*\).*/\1/p' >"$A/alerts.got"
awk '{ printf "%.2f\n", $1 }' "$A/readings" | tail -n "$(wc -l <"$A/alerts.got")" >"$A/alerts.expected"
if [ -s "$A/alerts.got" ] && cmp -s "$A/alerts.expected" "$A/alerts.got" && ! grep -q '"topic":"forbidden/x"' "$A/dump.jsonl"; then pass
else fail "after the rule change every reading raises alerts/t/any, and nothing reached forbidden/x" "$(wc -l <"$A/alerts.got") alerts"; fi
# Others kept flowing while trapper trapped: averages published after its first trap.
awk '/"topic":"trap\/a"/ && !t { t = 1 } t && /"topic":"avg\/t"/ { n++ } END { exit !(n > 0) }' "$A/dump.jsonl" \
  && pass || fail "moving_average kept publishing after trapper's trap"
grep '"module":"trapper","msg":"summary"' "$A/err.log" | tail -1 | grep -qE '"state":"quarantined".*"traps":3,"restarts":2,' \
  && pass || fail "the summary shows trapper quarantined after 3 traps and 2 restarts"
# kv: the rules are on disk.
[ "$(sqlite3 "$A/state/kv.sqlite" "select cast(value as text) from kv where module='rule_engine' and cast(key as text)='rules'")" = "t > 0 alerts/t/any" ] \
  && pass || fail "rule_engine's rules are in kv.sqlite"

# ---- 2. kv across a restart, and after SIGKILL --------------------------------
: >"$A/dump.jsonl"
: >"$A/inject.txt"
config "$A" "$CSV_LOOP_DRIVER, $SINE_DRIVER" "$RE"
start_graftd "$A"
wait_for "$A/dump.jsonl" '"topic":"alerts/t/any"' 10 \
  && pass || fail "after a restart rule_engine runs the rules it kept in kv"
echo 'control/rule_engine s > -100 alerts/s/second' >>"$A/inject.txt"
wait_for "$A/dump.jsonl" '"topic":"status/rule_engine".*"text":"ok 1 rules"' 10 || fail "the second rule change is acknowledged"
sleep 0.3   # well past the 50 ms commit window
kill -KILL "$GD"
wait "$GPID" 2>/dev/null   # timeout passes the SIGKILL on to itself
[ "$(sqlite3 "$A/state/kv.sqlite" "select cast(value as text) from kv where module='rule_engine' and cast(key as text)='rules'")" = "s > -100 alerts/s/second" ] \
  && pass || fail "a kv write older than the commit window survives SIGKILL"
: >"$A/dump.jsonl"
: >"$A/inject.txt"
start_graftd "$A"
wait_for "$A/dump.jsonl" '"topic":"alerts/s/second"' 10 && pass || fail "after SIGKILL and a restart the kept rules run"
stop_graftd
[ "$GRC" -eq 0 ] && pass || fail "SIGTERM exits 0 (second run)"

# ---- 3. reload: add and remove a module ---------------------------------------
B="$WORK/b"
config "$B" "$SINE_DRIVER" "$MA"
start_graftd "$B"
wait_for "$B/dump.jsonl" '"topic":"avg/s"' 10 || fail "moving_average runs before the reload"
config "$B" "$SINE_DRIVER" "$MA" "$UC"
kill -HUP "$GD"
wait_for "$B/err.log" '"module":"unit_converter","msg":"started' 10 && pass || fail "SIGHUP adds unit_converter"
wait_for "$B/dump.jsonl" '"topic":"conv/s/' 10 && pass || fail "the added module's output flows"
# Replace: moving_average with a lower fuel cap is a changed module.
MA2=$(printf '{ "name": "moving_average", "wasm": "%s/mods/moving_average.wasm", "grants": { "subscribe": ["sensors/+"], "publish": ["avg/+"] }, "limits": { "fuel_per_event": 90000 } }' "$WORK")
config "$B" "$SINE_DRIVER" "$MA2" "$UC"
kill -HUP "$GD"
wait_for "$B/err.log" '"module":"moving_average","msg":"started moving_average 0.1.0 \(fuel/event 90000' 10 \
  && grep -q '"module":"moving_average","msg":"replacing (reload)"' "$B/err.log" && ! grep -q '"module":"unit_converter","msg":"replacing' "$B/err.log" \
  && pass || fail "SIGHUP replaces the changed module only" "$(grep -E 'replacing|started' "$B/err.log" | tail -3)"
a0=$(grep -c '"topic":"avg/s"' "$B/dump.jsonl"); sleep 0.6
[ "$(grep -c '"topic":"avg/s"' "$B/dump.jsonl")" -gt "$a0" ] && pass || fail "the replaced module's output flows"
config "$B" "$SINE_DRIVER" "$MA2"
kill -HUP "$GD"
wait_for "$B/err.log" '"module":"unit_converter","msg":"removing \(reload\)' 10 && pass || fail "SIGHUP removes unit_converter"
wait_for "$B/err.log" '"module":"unit_converter","msg":"stopped' 10
n1=$(grep -c '"topic":"conv/' "$B/dump.jsonl"); a1=$(grep -c '"topic":"avg/s"' "$B/dump.jsonl")
sleep 0.6
n2=$(grep -c '"topic":"conv/' "$B/dump.jsonl"); a2=$(grep -c '"topic":"avg/s"' "$B/dump.jsonl")
[ "$n1" = "$n2" ] && [ "$a2" -gt "$a1" ] && pass || fail "after removal no conv/ output, moving_average still flows" "conv $n1->$n2 avg $a1->$a2"
printf '{ "config_version": 1,\n  "modules": [ }\n' >"$B/config.json"
kill -HUP "$GD"
wait_for "$B/err.log" 'reload refused, keeping the running config: .*config.json:2:' 10 && pass || fail "a malformed reload is refused"
stop_graftd
[ "$GRC" -eq 0 ] && pass || fail "SIGTERM exits 0 after reloads"

# ---- 4. two graftds through a real Mosquitto broker ----------------------------
# A runs the CSV sensor and moving_average and exports avg/#; B imports avg/#
# and runs threshold_alarm. B must see A's averages, value for value.
MOSQ=/usr/sbin/mosquitto
if [ -x "$MOSQ" ]; then
  M="$WORK/m"
  mkdir -p "$M/ga" "$M/gb"
  for try in 1 2 3 4 5; do   # a free loopback port; retry when it is taken
    port=$((20000 + RANDOM % 30000))
    printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$M/mosq.conf"
    timeout -s KILL 60 "$MOSQ" -c "$M/mosq.conf" >"$M/mosq.log" 2>&1 &
    MPID=$!
    PIDS+=("$MPID")
    for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
    kill -0 "$MPID" 2>/dev/null && break
  done
  broker() { printf '"broker": { "port": %s, "client_id": "%s", "import": [%s], "export": [%s] }' "$port" "$1" "$2" "$3"; }
  printf '{ "config_version": 1, %s, "http": { "enabled": false }, %s,\n "drivers": [ %s ], "modules": [ %s ] }\n' \
    "$AGENT" "$(broker graftd-a '' '"avg/#"')" "$CSV_DRIVER" "$MA" >"$M/ga/config.json"
  printf '{ "config_version": 1, %s, "http": { "enabled": false }, %s,\n "drivers": [ ], "modules": [ %s ] }\n' \
    "$AGENT" "$(broker graftd-b '"avg/#"' '"alarms/#"')" "$TA" >"$M/gb/config.json"
  start_graftd "$M/gb"
  GB=$GD
  wait_for "$M/mosq.log" 'connected from .* as graftd-b' 20 || fail "graftd B connects to the broker" "$(tail -3 "$M/mosq.log")"
  sleep 0.5   # B subscribed at the broker before A publishes
  start_graftd "$M/ga"
  sleep 3   # the CSV runs out
  stop_graftd
  [ "$GRC" -eq 0 ] || fail "graftd A exits 0" "status $GRC"
  sleep 0.5
  GD=$GB
  stop_graftd
  [ "$GRC" -eq 0 ] || fail "graftd B exits 0" "status $GRC"
  values "$M/ga/dump.jsonl" avg/t >"$M/avg.a"
  values "$M/gb/dump.jsonl" avg/t >"$M/avg.b"
  if [ -s "$M/avg.a" ] && cmp -s "$M/avg.a" "$M/avg.b" && grep -q '"origin":"mqtt"' "$M/gb/dump.jsonl"; then pass
  else fail "B receives A's averages through Mosquitto, value for value" "A: $(tr '\n' ' ' <"$M/avg.a")" "B: $(tr '\n' ' ' <"$M/avg.b")"; fi
  awk '{ v = $1 + 0; nx = st ? !(v < 28) : v > 30; if (nx != st) printf "%s %.2f\n", nx ? "alarm" : "clear", v; st = nx }' \
    "$M/avg.a" >"$M/alarms.expected"
  grep -F '"topic":"alarms/t"' "$M/gb/dump.jsonl" | sed -n 's/.*\\"state\\":\\"\([a-z]*\)\\",\\"value\\":\([-0-9.]*\).*/\1 \2/p' >"$M/alarms.got"
  [ -s "$M/alarms.expected" ] && cmp -s "$M/alarms.expected" "$M/alarms.got" \
    && pass || fail "B's threshold_alarm follows A's averages" "$(tr '\n' ' ' <"$M/alarms.got")"
  kill "$MPID" 2>/dev/null
else
  echo "note: no $MOSQ; the broker test is skipped" >&2
fi

# ---- 5. bad modules: link refusal, missing export, memory over the limit, failing health, a tight publish loop --------
cat >"$WORK/mods/spammer.wat" <<'WAT'
;; spammer: on any message, publishes spam/x 500 times in one event.
(module
  (import "iot_v1" "publish" (func $pub (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "spam/x")
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (local $i i32)
    (loop $l
      (drop (call $pub (i32.const 16) (i32.const 6) (i32.const 16) (i32.const 6)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 500))))
    (i32.const 0)))
WAT
cat >"$WORK/mods/ticker.wat" <<'WAT'
;; ticker: a periodic 50 ms timer publishing tick/a on each firing; it also
;; asks for a 15 ms timer, below its granted 20 ms minimum (refused).
(module
  (import "iot_v1" "timer_start" (func $start (param i32 i32 i32) (result i32)))
  (import "iot_v1" "publish" (func $pub (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "tick/a")
  (func (export "on_start") (result i32)
    (drop (call $start (i32.const 2) (i32.const 15) (i32.const 1)))
    (call $start (i32.const 1) (i32.const 50) (i32.const 1)))
  (func (export "on_timer") (param i32) (result i32)
    (call $pub (i32.const 16) (i32.const 6) (i32.const 16) (i32.const 6))))
WAT
wat2wasm "$WORK/mods/ticker.wat" -o "$WORK/mods/ticker.wasm" || abort "wat2wasm ticker.wat"
printf '{ "manifest_version": 1, "name": "ticker", "version": "1.0.0", "host_api": "iot_v1",\n  "capabilities": { "publish": ["tick/a"], "timers": { "count": 1, "min_period_ms": 20 } } }\n' \
  >"$WORK/mods/ticker.json"
# slowpoke: the trapper's code with fuel to spare, so only its 30 ms wall-time deadline stops 'L'.
cp "$WORK/mods/trapper.wasm" "$WORK/mods/slowpoke.wasm"
printf '{ "manifest_version": 1, "name": "slowpoke", "version": "1.0.0", "host_api": "iot_v1",\n  "capabilities": { "subscribe": ["slow/#"] }, "limits": { "fuel_per_event": 100000000000, "wall_ms_per_event": 30 } }\n' \
  >"$WORK/mods/slowpoke.json"
printf '(module (memory (export "memory") 1))\n' >"$WORK/mods/deaf.wat"
# bigmem: declares 64 pages (4 MiB) of initial memory; its config caps it at 64 KiB.
printf '(module (memory (export "memory") 64))\n' >"$WORK/mods/bigmem.wat"
wat2wasm "$WORK/mods/bigmem.wat" -o "$WORK/mods/bigmem.wasm" || abort "wat2wasm bigmem.wat"
printf '{ "manifest_version": 1, "name": "bigmem", "version": "1.0.0", "host_api": "iot_v1" }\n' >"$WORK/mods/bigmem.json"
# sick: its health probe answers 3 (probed every 100 ms in this config).
printf '(module (memory (export "memory") 1) (func (export "health") (result i32) (i32.const 3)))\n' >"$WORK/mods/sick.wat"
wat2wasm "$WORK/mods/sick.wat" -o "$WORK/mods/sick.wasm" || abort "wat2wasm sick.wat"
printf '{ "manifest_version": 1, "name": "sick", "version": "1.0.0", "host_api": "iot_v1" }\n' >"$WORK/mods/sick.json"
BIGMEM=$(printf '{ "name": "bigmem", "wasm": "%s/mods/bigmem.wasm", "grants": {}, "limits": { "memory_bytes": 65536 } }' "$WORK")
wat2wasm "$WORK/mods/spammer.wat" -o "$WORK/mods/spammer.wasm" && wat2wasm "$WORK/mods/deaf.wat" -o "$WORK/mods/deaf.wasm" \
  || abort "wat2wasm spammer/deaf"
printf '{ "manifest_version": 1, "name": "spammer", "version": "1.0.0", "host_api": "iot_v1",\n  "capabilities": { "subscribe": ["spam/go"], "publish": ["spam/x"] }, "limits": { "fuel_per_event": 1000000 } }\n' \
  >"$WORK/mods/spammer.json"
printf '{ "manifest_version": 1, "name": "deaf", "version": "1.0.0", "host_api": "iot_v1",\n  "capabilities": { "subscribe": ["x/#"] } }\n' >"$WORK/mods/deaf.json"
C="$WORK/c"
AGENT="${AGENT% \}}, \"health_period_ms\": 100 }" HTTP='{ "port": 0 }' \
  config "$C" "$SINE_DRIVER" "$MA" "$(mod sick '{}')" "$(mod spammer '{ "subscribe": ["spam/go"], "publish": ["spam/x"] }')" \
  "$(mod deaf '{ "subscribe": ["x/#"] }')" "$BIGMEM" "$(mod slowpoke '{ "subscribe": ["slow/#"] }')" "$(mod ticker '{ "publish": ["tick/a"], "timers": { "count": 1, "min_period_ms": 20 } }')" "$(mod threshold_alarm '{ "subscribe": ["avg/+"], "publish": ["alarms/+"] }')"
start_graftd "$C"
grep -qE '"module":"threshold_alarm","msg":"module threshold_alarm refused: import iot_v1.kv_get: capability .* is not granted' "$C/err.log" \
  && pass || fail "a module importing kv without a kv grant is refused at link time, naming the import" "$(grep threshold_alarm "$C/err.log" | head -2)"
grep -qE '"module":"deaf","msg":"module deaf refused: .*on_message' "$C/err.log" \
  && pass || fail "a subscribing module without on_message is refused" "$(grep deaf "$C/err.log" | head -2)"
grep -qE '"module":"bigmem","msg":"module bigmem refused: its declared initial memory of 64 pages \(4194304 bytes\) exceeds its memory limit of 1 pages \(65536 bytes\)"' "$C/err.log" \
  && ! grep -qE '"module":"bigmem","msg":"(started|quarantined)' "$C/err.log" \
  && pass || fail "a module whose initial memory exceeds its limit is refused at load, not started" "$(grep bigmem "$C/err.log" | head -2)"
wait_for "$C/err.log" '"module":"sick","msg":"health probe answered 3"' 5 \
  && port=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$C/err.log" | head -1) \
  && curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" >"$C/metrics.txt" 2>&1 \
  && [ "$(sed -n 's/^graft_module_health_failures_total{module="sick"} \([0-9]*\)$/\1/p' "$C/metrics.txt")" -ge 1 ] \
  && [ "$(sed -n 's/^graft_module_health_failures_total{module="moving_average"} \([0-9]*\)$/\1/p' "$C/metrics.txt")" = 0 ] \
  && pass || fail "a failing health probe (agent.health_period_ms 100) is logged and counted on /metrics" \
                  "$(grep sick "$C/err.log" | head -2)" "$(grep health "$C/metrics.txt" 2>/dev/null)"
echo 'slow/a L' >>"$C/inject.txt"
wait_for "$C/err.log" '"module":"slowpoke","msg":"trap in on_message: interrupted' 10 \
  && pass || fail "a handler past its wall-time deadline is interrupted (fuel to spare)" "$(grep slowpoke "$C/err.log" | tail -2)"
echo 'spam/go go' >>"$C/inject.txt"
wait_for "$C/err.log" '"module":"spammer","msg":"publish rate limited' 10 && pass || fail "a tight publish loop is rate limited and logged"
wait_for "$C/dump.jsonl" '"topic":"avg/s"' 10 && pass || fail "the other modules run beside the refused ones"
sleep 1.2   # one more summary
stop_graftd
[ "$GRC" -eq 0 ] || fail "SIGTERM exits 0 (bad modules)" "status $GRC"
# The ticker: 50 ms periodic timer; the 15 ms one refused (EPERM, counted).
awk -F'"ts_ns":' '/"topic":"tick\/a"/ { split($2, a, ","); t[n++] = a[1] }
     END { if (n < 10) exit 1; d = (t[n-1] - t[0]) / (n - 1) / 1e6; exit !(d >= 45 && d <= 80) }' "$C/dump.jsonl" \
  && grep '"module":"ticker","msg":"summary"' "$C/err.log" | tail -1 | grep -qE '"refused":1,' \
  && pass || fail "a periodic timer fires every 50 ms; one below the granted minimum period is refused" \
                  "$(grep -c '"topic":"tick/a"' "$C/dump.jsonl") ticks; $(grep '"module":"ticker","msg":"summary"' "$C/err.log" | tail -1)"
sent=$(grep -c '"topic":"spam/x"' "$C/dump.jsonl")
limited=$(grep '"module":"spammer","msg":"summary"' "$C/err.log" | tail -1 | sed -n 's/.*"rate_limited":\([0-9]*\).*/\1/p')
[ "$sent" -ge 100 ] && [ "$sent" -le 110 ] && [ "$((sent + limited))" -eq 500 ] \
  && pass || fail "500 publishes in one event: the burst of 100 (and a trickle) passes, the rest are counted as rate limited" \
                  "published $sent, rate limited $limited"

# ---- 5b. a malformed config -------------------------------------------------------
printf '{ "config_version": 1,\n  "agent": { "name": "x", }\n}\n' >"$WORK/bad.json"
run bad timeout 10 "$GRAFTD" --config "$WORK/bad.json"
[ "$RC" -eq 2 ] && grep -qE 'bad\.json:2:[0-9]+:' "$WORK/bad.err" \
  && pass || fail "a malformed config exits 2 with file:line:column" "status $RC: $(cat "$WORK/bad.err")"

# ---- 6. the short demo -------------------------------------------------------------
if [ -f "$SRC/scripts/demo-gateway.sh" ]; then
  run demo env DEMO_SECONDS=3 timeout 60 bash "$SRC/scripts/demo-gateway.sh" "$BUILD"
  [ "$RC" -eq 0 ] && grep -qE "aggregates +temp1=[0-9]" "$WORK/demo.out" && grep -q "moving_average" "$WORK/demo.out" \
    && pass || fail "DEMO_SECONDS=3 demo runs and shows the pipeline" "status $RC" "$(tail -5 "$WORK/demo.out")" "$(tail -5 "$WORK/demo.err")"
fi

finish
