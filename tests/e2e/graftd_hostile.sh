#!/usr/bin/env bash
# graftd_hostile.sh - hostile modules against the real graftd, beside a
# healthy one that must keep its rate (docs/agent.md, "Hostile modules").
# Every module is a hand-written WAT file; one graftd runs them all:
#
#   A. an export the agent calls, typed to return eight i64 values (the
#      stack-smash of issue 9), for each of _initialize, on_start,
#      on_message, on_timer, health and graft_alloc: refused at load,
#      naming the export and its expected type; graftd stays up;
#   B. a looping start function (stopped by fuel, and by the CPU-time
#      deadline when its fuel is plentiful), a looping _initialize and a
#      looping on_start: each is stopped, restarted with backoff and
#      quarantined; SIGHUP while one loops is answered; SIGTERM exits 0;
#   C. guest bytes in log lines are escaped (a NUL does not cut them), so
#      a refusal of "temp1\0" does not read as a granted name; imports
#      graftd does not provide (env.memory, a mistyped WASI function) are
#      refused at load; a kv_put outside an event is refused with a reason;
#      EFAULT, EINVAL, E2BIG and graft_alloc drops reach /metrics.
#
# The healthy module `ticker` publishes on ok/tick from a 20 ms periodic
# timer (fixed rate: missed periods are skipped, not bunched), so its count
# over a window is its rate.
. "$(dirname "$0")/harness.bash" "$@"

GRAFTD="$BUILD/graftd"
[ -x "$GRAFTD" ] || abort "no graftd at $GRAFTD"
command -v wat2wasm >/dev/null || abort "wat2wasm is needed (wabt)"
command -v curl >/dev/null || abort "curl is needed"

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

D="$WORK/d"
mkdir -p "$D/mods"
MODS=()

cp "$SRC/tests/e2e/wat/ticker.wat" "$D/ticker.wat"
module ticker '"publish": ["ok/tick"], "timers": { "count": 1, "min_period_ms": 20 }' '"wall_ms_per_event": 2000' <"$D/ticker.wat"

# ---- A: exports typed to write eight values past a one-value buffer ----
R8='(result i64 i64 i64 i64 i64 i64 i64 i64)'
K8='(i64.const 0x4141414141414141) (i64.const 0x4242424242424242) (i64.const 0x4343434343434343) (i64.const 0x4444444444444444) (i64.const 0x4545454545454545) (i64.const 0x4646464646464646) (i64.const 0x4747474747474747) (i64.const 0x4848484848484848)'
for e in _initialize on_start on_message on_timer health graft_alloc; do
  n=smash${e//_/}
  case $e in
    on_message) caps='"subscribe": ["ok/tick"]'; extra='(func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))' ;;
    graft_alloc) caps='"subscribe": ["ok/tick"]'; extra='(func (export "on_message") (param i32 i32 i32 i32) (result i32) (i32.const 0))' ;;
    *) caps=''; extra='' ;;
  esac
  module "$n" "$caps" <<WAT
(module
  (memory 1)
  (func (export "$e") $R8 $K8)
  $extra)
WAT
done

# ---- B: loops where nothing was metered before ----
# little fuel, a generous deadline: only fuel can stop it (also under ASan)
module spinstart '' '"fuel_per_event": 1000000, "wall_ms_per_event": 5000' <<'WAT'
(module (memory 1) (func $spin (loop (br 0))) (start $spin))
WAT
# plenty of fuel: only the 300 ms CPU-time deadline can stop it
module spinslow '' '"fuel_per_event": 100000000000000, "wall_ms_per_event": 300' <<'WAT'
(module (memory 1) (func $spin (loop (br 0))) (start $spin))
WAT
module spininit '' '"fuel_per_event": 100000000000000, "wall_ms_per_event": 300' <<'WAT'
(module (memory 1) (func (export "_initialize") (loop (br 0))))
WAT
module spinonstart '' '"fuel_per_event": 1000000, "wall_ms_per_event": 5000' <<'WAT'
(module (memory 1) (func (export "on_start") (result i32) (loop (br 0)) (i32.const 0)))
WAT

# ---- C: what is logged, what is linked, what is counted ----
module nullog '' <<'WAT'
(module
  (import "iot_v1" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "abc\00def")
  (func (export "on_start") (result i32) (drop (call $log (i32.const 1) (i32.const 0) (i32.const 7))) (i32.const 0)))
WAT
module nulsensor '"sensors": ["temp1"]' <<'WAT'
(module
  (import "iot_v1" "sensor_read" (func $read (param i32 i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "temp1\00")
  (func (export "on_start") (result i32) (drop (call $read (i32.const 0) (i32.const 6) (i32.const 64))) (i32.const 0)))
WAT
module envmem '' <<'WAT'
(module (import "env" "memory" (memory 1)) (func (export "on_start") (result i32) (i32.const 0)))
WAT
module wasibad '' <<'WAT'
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
  (memory 1))
WAT
module kvstart '"kv": { "quota_bytes": 1024 }' <<'WAT'
(module
  (import "iot_v1" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "k")
  (func $s (drop (call $put (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))))
  (start $s))
WAT
# apierr: on each message one EFAULT (log from past the memory), one EINVAL
# (log level 9) and one E2BIG (a 300-byte kv key); graft_alloc gives 0 on
# every other message, which drops it.
module apierr '"subscribe": ["ok/tick"], "kv": { "quota_bytes": 1024 }' <<'WAT'
(module
  (import "iot_v1" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "iot_v1" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (global $n (mut i32) (i32.const 0))
  (func (export "graft_alloc") (param i32) (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (select (i32.const 4096) (i32.const 0) (i32.and (global.get $n) (i32.const 1))))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32)
    (drop (call $log (i32.const 1) (i32.const 70000) (i32.const 4)))
    (drop (call $log (i32.const 9) (i32.const 0) (i32.const 1)))
    (drop (call $put (i32.const 0) (i32.const 300) (i32.const 0) (i32.const 1)))
    (i32.const 0)))
WAT

config() {
  local IFS=,
  printf '{ "config_version": 1, "agent": { "name": "h", "backoff_initial_ms": 50, "backoff_max_ms": 200, "crash_loop_traps": 3, "crash_loop_window_s": 60, "event_wall_factor": 2 },\n  "http": { "port": 0 }, "state_dir": "state", "drivers": [],\n  "modules": [ %s ] }\n' \
    "$*" >"$D/config.json.new"
  mv "$D/config.json.new" "$D/config.json"
}
config "${MODS[@]}"

graftd_up "$D" 120 --config config.json --dump-topic 'ok/#' --dump-file dump.jsonl

# ---- A ----
for e in _initialize on_start on_message on_timer health graft_alloc; do
  n=smash${e//_/}
  grep -qF "\"msg\":\"module $n refused: export $e: wrong type, expected a function" "$D/err.log" \
    && pass || fail "an export $e returning eight i64 is refused at load" "$(grep -F "$n" "$D/err.log" | head -2)"
done

# ---- B: each loop is stopped, then quarantined after 3 traps ----
for n in spinstart spinslow spininit spinonstart; do
  wait_for "$D/err.log" "\"module\":\"$n\",\"msg\":\"quarantined" 20 \
    && pass || fail "$n: the loop is stopped and the module quarantined" "$(grep -F "\"$n\"" "$D/err.log" | tail -3)"
done
grep -qF '"module":"spinstart","msg":"cannot start: trap in the start function: out of fuel' "$D/err.log" \
  && pass || fail "a looping start function runs out of its fuel" "$(grep -F spinstart "$D/err.log" | head -2)"
# Either deadline: a machine this busy may starve the loop past its wall
# bound (event_wall_factor 2: 600 ms) before it has used 300 ms of CPU.
DEADLINE='interrupted \((CPU-time deadline of 300 ms|wall-time bound of 600 ms); ran [0-9]+ ms CPU, [0-9]+ ms wall\)'
grep -qE '"module":"spinslow","msg":"cannot start: trap in the start function: '"$DEADLINE" "$D/err.log" \
  && pass || fail "a start function with fuel to spare meets its CPU-time deadline, the trap saying how long it ran" "$(grep -F spinslow "$D/err.log" | head -2)"
grep -qE '"module":"spininit","msg":"trap in _initialize: '"$DEADLINE" "$D/err.log" \
  && pass || fail "a looping _initialize meets its deadline" "$(grep -F spininit "$D/err.log" | head -2)"
grep -qF '"module":"spinonstart","msg":"trap in on_start: out of fuel' "$D/err.log" \
  && pass || fail "a looping on_start runs out of fuel" "$(grep -F spinonstart "$D/err.log" | head -2)"

# ---- C ----
grep -qF '"module":"nullog","msg":"abc\\x00def"' "$D/err.log" \
  && pass || fail "a NUL in a module's log line is escaped, not the end of the line" "$(grep -F nullog "$D/err.log" | head -3)"
grep -qF 'refused, not granted: \"temp1\\x00\"' "$D/err.log" \
  && pass || fail "a refused name with a NUL is logged escaped" "$(grep -F nulsensor "$D/err.log" | head -3)"
grep -qF '"msg":"module envmem refused: import env.memory: graftd provides only iot_v1 and wasi_snapshot_preview1' "$D/err.log" \
  && pass || fail "an env.memory import is refused at load" "$(grep -F envmem "$D/err.log" | head -2)"
grep -qF '"msg":"module wasibad refused: import wasi_snapshot_preview1.fd_write: type i->i, expected iiii->i' "$D/err.log" \
  && pass || fail "a mistyped WASI import is refused at load" "$(grep -F wasibad "$D/err.log" | head -2)"
grep -qF '"module":"kvstart","msg":"iot_v1.kv_put from module kvstart: invalid argument \"no event is open' "$D/err.log" \
  && pass || fail "kv_put from the start function is refused with the reason" "$(grep -F kvstart "$D/err.log" | head -2)"
for n in envmem wasibad; do
  grep -qF "\"module\":\"$n\",\"msg\":\"restarting" "$D/err.log" \
    && fail "$n is refused once at load, not retried" || pass
done

# The healthy module's rate while the others were hostile: 3 s at 50/s.
sleep 1
c0=$(grep -c '"topic":"ok/tick"' "$D/dump.jsonl")
sleep 3
c1=$(grep -c '"topic":"ok/tick"' "$D/dump.jsonl")
[ $((c1 - c0)) -ge 90 ] && pass || fail "ticker keeps its rate beside the hostile modules" "$((c1 - c0)) ticks in 3 s, want >= 90 of 150"

M=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics")
for series in faults invalid too_big alloc_dropped; do
  v=$(printf '%s\n' "$M" | sed -n "s/^graft_module_${series}_total{module=\"apierr\"} \([0-9]*\)$/\1/p")
  [ "${v:-0}" -gt 0 ] && pass || fail "graft_module_${series}_total counts apierr's answers" "got '${v:-}'"
done
v=$(printf '%s\n' "$M" | sed -n 's/^graft_module_fuel_used_total{module="spinstart"} \([0-9]*\)$/\1/p')
[ "${v:-0}" -ge 3000000 ] && pass || fail "fuel burnt in start functions is counted" "spinstart: '${v:-}'"

# ---- B: SIGHUP while a start function loops on its 3 s deadline ----
# (3 s of CPU time; its wall bound is event_wall_factor 2 times that, so a
# busy machine delays the answer by at most 6 s)
module spinlong '' '"fuel_per_event": 100000000000000, "wall_ms_per_event": 3000' <<'WAT'
(module (memory 1) (func $spin (loop (br 0))) (start $spin))
WAT
config "${MODS[0]}" "${MODS[-1]}"
kill -HUP "$GD"
wait_for "$D/err.log" '"msg":"reloaded' 10 || fail "the reload adding spinlong is answered"
sleep 0.5   # spinlong is now in its start function
t0=$(date +%s%N)
config "${MODS[0]}"
kill -HUP "$GD"
for ((i = 0; i < 200; i++)); do
  [ "$(grep -c '"msg":"reloaded' "$D/err.log")" -ge 2 ] && break
  sleep 0.05
done
t1=$(date +%s%N)
[ "$(grep -c '"msg":"reloaded' "$D/err.log")" -ge 2 ] && [ $(((t1 - t0) / 1000000)) -le 9000 ] \
  && pass || fail "a SIGHUP removing a module whose start function loops is answered within its wall bound" \
                  "$(((t1 - t0) / 1000000)) ms; $(tail -2 "$D/err.log")"

# ---- SIGTERM: drained and exited 0 ----
config "${MODS[0]}" "${MODS[-1]}"
kill -HUP "$GD"
sleep 0.5
kill -TERM "$GD"
wait "$GPID"
check_eq "graftd exits 0 on SIGTERM while a start function loops" "$?" 0
grep -qF '"msg":"stopped: kv flushed"' "$D/err.log" && pass || fail "the kv store is flushed at exit" "$(tail -3 "$D/err.log")"

finish
