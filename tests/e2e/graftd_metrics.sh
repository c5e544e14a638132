#!/usr/bin/env bash
# graftd_metrics.sh - what an operator's monitoring sees of a real graftd
# (docs/agent.md, "Observability"): every drop, refusal and connection
# change moves a /metrics series, /healthz answers JSON with each module's
# state, and the dump and summary show text as text.
#
#   1. one graftd beside a real Mosquitto, running a healthy ticker, a slow
#      module with a small inbox (inbox_full drops), a module with a small
#      message limit (oversize drops), one that rejects every message, one
#      that publishes beyond its rate, one quarantined and one refused at
#      load. Each series is read before and after its event: it must move.
#      The broker is stopped and started again: the bridge logs the loss,
#      each failed attempt and the reconnect, its buffer drops are logged
#      and counted, and /healthz shows the broker's state.
#   2. the refused module marked "required": /healthz answers 503; with
#      agent.require_at_start graftd does not start (exit 1).
. "$(dirname "$0")/harness.bash" "$@"

GRAFTD="$BUILD/graftd"
[ -x "$GRAFTD" ] || abort "no graftd at $GRAFTD"
command -v wat2wasm >/dev/null || abort "wat2wasm is needed (wabt)"
command -v curl >/dev/null || abort "curl is needed"
MOSQ=/usr/sbin/mosquitto
[ -x "$MOSQ" ] || abort "mosquitto is needed at $MOSQ"
command -v mosquitto_pub >/dev/null || abort "mosquitto_pub is needed"

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

D="$WORK/d"
mkdir -p "$D/mods"
MODS=()

module ticker '"publish": ["ok/tick"], "timers": { "count": 1, "min_period_ms": 20 }' '"wall_ms_per_event": 2000' \
  <"$SRC/tests/e2e/wat/ticker.wat"
# slow: each message costs a few ms of fuel, so a burst overflows its inbox
module slow '"subscribe": ["flood/#"]' '"fuel_per_event": 100000000000, "wall_ms_per_event": 2000' <<'WAT'
(module
  (memory 1)
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (local $i i32)
    (local.set $i (i32.const 3000000))
    (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i)))
    (i32.const 0)))
WAT
module small '"subscribe": ["big/#"]' '"max_message_bytes": 16' <<'WAT'
(module
  (memory 1)
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
WAT
module rejector '"subscribe": ["rej/#"]' <<'WAT'
(module
  (memory 1)
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (i32.const 1)))
WAT
# chatty: 300 publishes per message, against a burst of 100
module chatty '"subscribe": ["chat/go"], "publish": ["chat/out"]' <<'WAT'
(module
  (import "iot_v1" "publish" (func $pub (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "chat/out")
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (local $i i32)
    (local.set $i (i32.const 300))
    (loop $l
      (drop (call $pub (i32.const 0) (i32.const 8) (i32.const 0) (i32.const 2)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i)))
    (i32.const 0)))
WAT
module crashy '' '"fuel_per_event": 1000000, "wall_ms_per_event": 5000' <<'WAT'
(module (memory 1) (func (export "on_start") (result i32) unreachable))
WAT
module envmem '' '' '"required": REQUIRED' <<'WAT'
(module (import "env" "memory" (memory 1)) (func (export "on_start") (result i32) (i32.const 0)))
WAT

# A free loopback port for the broker.
MPORT=
for _ in 1 2 3 4 5 6 7 8 9 10; do
  p=$((20000 + RANDOM % 30000))
  (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null || { MPORT=$p; break; }
done
[ -n "$MPORT" ] || abort "no free port for the broker"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$MPORT" >"$D/mosq.conf"
broker_start() {
  timeout -s KILL 120 "$MOSQ" -c "$D/mosq.conf" >>"$D/mosq.log" 2>&1 &
  MPID=$!
  PIDS+=("$MPID")
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$MPORT") 2>/dev/null && return 0; sleep 0.05; done
  abort "mosquitto did not listen on $MPORT" "$(tail -3 "$D/mosq.log")"
}

# config REQUIRED [AGENT_EXTRA]
config() {
  local IFS=, mods
  mods="${MODS[*]}"
  printf '{ "config_version": 1, "agent": { "name": "mt", "inbox_messages": 4, "crash_loop_traps": 2, "backoff_initial_ms": 20, "backoff_max_ms": 50%s },\n  "http": { "port": 0 }, "state_dir": "state",\n  "broker": { "port": %s, "import": ["in/#"], "export": ["ok/#"], "buffer_messages": 10, "reconnect_min_ms": 100, "reconnect_max_ms": 200 },\n  "drivers": [ { "name": "t1", "kind": "sine", "interval_ms": 100, "amplitude": 1, "offset": 20, "unit": "degC" } ],\n  "modules": [ %s ] }\n' \
    "${2:+, $2}" "$MPORT" "${mods//REQUIRED/$1}" >"$D/config.json"
}

# metric NAME{LABELS}: its value in a fresh scrape ("" when absent).
metric() {
  curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}
# moved WHAT SERIES BEFORE: the series is now above BEFORE.
moved() {
  local now
  now=$(metric "$2")
  [ -n "$now" ] && [ "$now" -gt "${3:-0}" ] && pass || fail "$1: $2 moves" "before ${3:-absent}, now ${now:-absent}"
}
# wait_metric SERIES MIN [SECONDS]: until the series is at least MIN.
wait_metric() {
  local i v
  for ((i = 0; i < ${3:-20} * 10; i++)); do
    v=$(metric "$1")
    [ -n "$v" ] && [ "$v" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

broker_start
config false
: >"$D/inject"
graftd_up "$D" 110 --config config.json --inject inject --dump-topic '#' --dump-file dump.jsonl --summary-every 1
[ -n "$PORT" ] || abort "no /metrics port in the log"
wait_for "$D/err.log" '"module":"crashy","msg":"quarantined' 20 || fail "crashy is quarantined" "$(grep -F crashy "$D/err.log" | tail -2)"
wait_metric 'graft_bridge_connected' 1 20 || fail "the bridge connects" "$(tail -3 "$D/err.log")"

# ---- states, the agent's name, the refused module ----
check_eq "graft_agent_info carries agent.name" "$(metric 'graft_agent_info{agent="mt"}')" 1
check_eq "a refused module has a state series" "$(metric 'graft_module_state{module="envmem",state="refused"}')" 1
check_eq "... and only one state" "$(metric 'graft_module_state{module="envmem",state="running"}')" 0
check_eq "a quarantined module's state" "$(metric 'graft_module_state{module="crashy",state="quarantined"}')" 1
check_eq "a running module's state" "$(metric 'graft_module_state{module="ticker",state="running"}')" 1
H=$(curl -s --max-time 5 -w '\n%{http_code}' "http://127.0.0.1:$PORT/healthz")
check_eq "/healthz is 200 with only optional modules down" "$(tail -1 <<<"$H")" 200
B=$(head -1 <<<"$H")
jq -e . >/dev/null 2>&1 <<<"$B" && pass || fail "/healthz answers JSON" "$B"
check_eq "/healthz: envmem refused, with its reason" \
  "$(jq -r '.modules[] | select(.name == "envmem") | .state + " " + (.reason | test("env.memory") | tostring)' <<<"$B")" "refused true"
check_eq "/healthz: crashy quarantined" "$(jq -r '.modules[] | select(.name == "crashy") | .state' <<<"$B")" quarantined
check_eq "/healthz: the broker's state" "$(jq -r '.broker.state' <<<"$B")" connected
check_eq "/healthz: kv" "$(jq -r '.kv.durable' <<<"$B")" true

# ---- per-module drops, rejections, rate limits ----
b_full=$(metric 'graft_module_dropped_total{module="slow",reason="inbox_full"}')
b_over=$(metric 'graft_module_dropped_total{module="small",reason="oversize"}')
b_rej=$(metric 'graft_module_rejected_total{module="rejector"}')
b_rate=$(metric 'graft_module_rate_limited_total{module="chatty"}')
{
  for i in $(seq 40); do echo "flood/x m$i"; done
  echo "big/x 0123456789abcdefXYZ"
  echo "rej/x no"
  echo "chat/go go"
  echo 'txt/a {"a":1,"bb":"xxxxxxxxx"}'
} >>"$D/inject"
wait_for "$D/err.log" 'injected .* on txt/a' 10 || fail "the injected lines are published" "$(tail -2 "$D/err.log")"
sleep 0.5
moved "a full inbox" 'graft_module_dropped_total{module="slow",reason="inbox_full"}' "$b_full"
moved "a message over the module's size" 'graft_module_dropped_total{module="small",reason="oversize"}' "$b_over"
moved "a rejected message" 'graft_module_rejected_total{module="rejector"}' "$b_rej"
moved "publishes beyond the rate" 'graft_module_rate_limited_total{module="chatty"}' "$b_rate"

# ---- item 6: a 24-byte text is text, a reading is a reading ----
check_eq "the 24-byte JSON text is 24 bytes" "$(printf '%s' '{"a":1,"bb":"xxxxxxxxx"}' | wc -c)" 24
wait_for "$D/dump.jsonl" '"topic":"txt/a"' 5
grep -F '"topic":"txt/a"' "$D/dump.jsonl" | grep -qF '"text":"{\"a\":1,\"bb\":\"xxxxxxxxx\"}"' \
  && pass || fail "the dump shows a 24-byte text as text" "$(grep -F txt/a "$D/dump.jsonl" | head -1)"
grep -F '"topic":"sensors/t1"' "$D/dump.jsonl" | head -1 | grep -qE '"value":(19|20|21)[.0-9e-]*,"unit":1,' \
  && pass || fail "the dump decodes a reading" "$(grep -F sensors/t1 "$D/dump.jsonl" | head -1)"
wait_for "$D/err.log" '"msg":"summary topic","topic":"txt/a"' 5
grep -F '"msg":"summary topic","topic":"txt/a"' "$D/err.log" | tail -1 | grep -qF '"last":"{\"a\":1,\"bb\":\"xxxxxxxxx\"}"' \
  && pass || fail "the summary shows the text as text" "$(grep -F '"topic":"txt/a"' "$D/err.log" | tail -1)"

# ---- the bridge: relayed, oversize imports, the broker going away ----
b_ex=$(metric 'graft_bridge_messages_total{direction="export"}')
b_im=$(metric 'graft_bridge_messages_total{direction="import"}')
b_big=$(metric 'graft_bridge_dropped_total{direction="import",reason="oversize"}')
b_bus=$(metric 'graft_bus_dropped_total{reason="oversize"}')
mosquitto_pub -p "$MPORT" -t in/small -m hello
head -c 1200000 /dev/zero | tr '\0' x >"$D/big.txt"
mosquitto_pub -p "$MPORT" -t in/big -f "$D/big.txt"
wait_for "$D/err.log" 'import dropped: 1200000 bytes on in/big is over the bus' 10 \
  && pass || fail "an oversize import is logged" "$(grep -F 'mqtt' "$D/err.log" | tail -2)"
moved "exports" 'graft_bridge_messages_total{direction="export"}' "$b_ex"
moved "an import" 'graft_bridge_messages_total{direction="import"}' "$b_im"
moved "an oversize import" 'graft_bridge_dropped_total{direction="import",reason="oversize"}' "$b_big"
moved "the bus refusing it" 'graft_bus_dropped_total{reason="oversize"}' "$b_bus"

b_conn=$(metric 'graft_bridge_connects_total')
b_fail=$(metric 'graft_bridge_connect_failures_total')
b_drop=$(metric 'graft_bridge_dropped_total{direction="export",reason="buffer_full"}')
kill -TERM "$MPID"
wait "$MPID" 2>/dev/null
wait_for "$D/err.log" '"msg":"mqtt: broker 127.0.0.1:[0-9]*: connection lost' 10 \
  && pass || fail "the lost connection is logged" "$(grep -F mqtt "$D/err.log" | tail -2)"
wait_for "$D/err.log" 'failed attempt 2; retrying in' 10 \
  && pass || fail "each failed attempt is logged" "$(grep -F mqtt "$D/err.log" | tail -2)"
wait_for "$D/err.log" 'outbound buffer full .* messages dropped' 10 \
  && pass || fail "buffer drops are logged" "$(grep -F mqtt "$D/err.log" | tail -2)"
check_eq "graft_bridge_connected is 0 while away" "$(metric graft_bridge_connected)" 0
check_eq "/healthz shows the broker away" \
  "$(curl -s --max-time 5 "http://127.0.0.1:$PORT/healthz" | jq -r .broker.state)" disconnected
moved "failed attempts" graft_bridge_connect_failures_total "$b_fail"
moved "buffer drops" 'graft_bridge_dropped_total{direction="export",reason="buffer_full"}' "$b_drop"
broker_start
wait_for "$D/err.log" '"msg":"mqtt: broker 127.0.0.1:[0-9]*: reconnected after [0-9]+ failed attempts' 20 \
  && pass || fail "the reconnect is logged" "$(grep -F mqtt "$D/err.log" | tail -2)"
wait_metric graft_bridge_connected 1 10 && pass || fail "graft_bridge_connected is 1 again"
moved "a reconnect" graft_bridge_connects_total "$b_conn"
kill -TERM "$GD"
wait "$GPID"
check_eq "graftd exits 0" "$?" 0

# ---- 2. required ----
mv "$D/err.log" "$D/err1.log"
config true
graftd_up "$D" 60 --config config.json
H=$(curl -s --max-time 5 -w '\n%{http_code}' "http://127.0.0.1:$PORT/healthz")
check_eq "/healthz is 503 while a required module is not running" "$(tail -1 <<<"$H")" 503
check_eq "... and says which" "$(head -1 <<<"$H" | jq -r '[.status, .required_not_running, (.modules[] | select(.required) | .name)] | join(" ")')" \
  "unhealthy 1 envmem"
kill -TERM "$GD"
wait "$GPID"
config true '"require_at_start": true'
run start "$GRAFTD" --config "$D/config.json"
check_rc start 1
check_grep start err 'module envmem is required \(agent.require_at_start\) and refused'
config false '"require_at_start": true'
mv "$D/err.log" "$D/err2.log"
graftd_up "$D" 60 --config config.json
pass   # up: an optional refused module does not stop the start
kill -TERM "$GD"
wait "$GPID"
check_eq "graftd exits 0" "$?" 0

finish
