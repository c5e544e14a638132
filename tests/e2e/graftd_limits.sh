#!/usr/bin/env bash
# graftd_limits.sh - graftd's per-module bounds under abuse and under load
# (docs/agent.md, "Logs", "Memory budget", "Events"), against a real graftd:
#
#   1. logging: `chatty` writes 20,000 lines with the log call, 20,000
#      with fd_write and makes 20,000 refused publishes (each a host line)
#      in one event; what reaches the log stays within the documented
#      rate and burst (agent.log_rate_per_s 100, log_burst 200), the rest
#      is counted in graft_module_log_suppressed_total and announced in a
#      "log lines suppressed" notice;
#   2. inbox bytes: `blaster` publishes 300 messages of 1 MB to `slow`
#      (max_message_bytes 1 MiB, a handler that takes its time); the inbox
#      is bounded by agent.inbox_bytes (1 MiB), so graftd's peak RSS grows
#      by less than 64 MiB (it grew by about 250 MB with a count bound only);
#   3. CPU-time deadline: `burner` burns a fixed amount of CPU per message,
#      calibrated here to about 60% of its 200 ms wall_ms_per_event; then
#      three busy loops share graftd's CPU (all pinned to CPU 0) so each
#      event takes longer than 200 ms of wall time. It must not be
#      interrupted: the deadline counts the worker's CPU time (the wall
#      bound, event_wall_factor 20 here, is 4 s).
#
# ASan's quarantine would keep every freed 1 MB message resident; it is
# turned off so RSS measures what graftd holds.
. "$(dirname "$0")/harness.bash" "$@"

GRAFTD="$BUILD/graftd"
[ -x "$GRAFTD" ] || abort "no graftd at $GRAFTD"
command -v wat2wasm >/dev/null || abort "wat2wasm is needed (wabt)"
command -v curl >/dev/null || abort "curl is needed"
command -v taskset >/dev/null || abort "taskset is needed (util-linux)"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"

PIDS=()
LOOPS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

D="$WORK/d"
mkdir -p "$D/mods"
MODS=()

FUEL='"fuel_per_event": 100000000000000'
module chatty '"subscribe": ["chat/go"], "publish": ["ok/x"]' "$FUEL, \"wall_ms_per_event\": 60000" <<'WAT'
(module
  (import "iot_v1" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "iot_v1" "publish" (func $pub (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fdw (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "chatty line")
  (data (i32.const 16) "no/way")
  (data (i32.const 32) "\00\00\00\00\0b\00\00\00")
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (local $i i32)
    (loop $l
      (drop (call $log (i32.const 1) (i32.const 0) (i32.const 11)))
      (drop (call $fdw (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48)))
      (drop (call $pub (i32.const 16) (i32.const 6) (i32.const 0) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20000))))
    (i32.const 0)))
WAT
# blaster: 300 publishes of the 1,000,000 bytes at 65536 on big/m.
module blaster '"subscribe": ["blast/go"], "publish": ["big/m"]' \
  "$FUEL, \"wall_ms_per_event\": 60000, \"memory_bytes\": 2097152, \"max_message_bytes\": 1048576" <<'WAT'
(module
  (import "iot_v1" "publish" (func $pub (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 32)
  (data (i32.const 0) "big/m")
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (local $i i32)
    (loop $l
      (drop (call $pub (i32.const 0) (i32.const 5) (i32.const 65536) (i32.const 1000000)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 300))))
    (i32.const 0)))
WAT
# slow: takes each 1 MB message and counts to 3,000,000.
module slow '"subscribe": ["big/#"]' \
  "$FUEL, \"wall_ms_per_event\": 60000, \"memory_bytes\": 2097152, \"max_message_bytes\": 1048576" <<'WAT'
(module
  (memory (export "memory") 32)
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3000000))))
    (i32.const 0)))
WAT
# burner: counts to 100,000 per payload byte.
module burner '"subscribe": ["burn/#"]' "$FUEL, \"wall_ms_per_event\": 200" <<'WAT'
(module
  (memory (export "memory") 1)
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (local $i i32) (local $n i32)
    (local.set $n (i32.mul (local.get 3) (i32.const 100000)))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.const 0)))
WAT

IFS=,; printf '{ "config_version": 1, "agent": { "name": "lim", "publish_burst": 1000, "event_wall_factor": 20 }, "http": { "port": 0 },\n  "state_dir": "%s/state", "drivers": [],\n  "modules": [ %s ] }\n' \
  "$D" "${MODS[*]}" >"$D/config.json"; unset IFS
: >"$D/inject.txt"
graftd_up "$D" 300 --config config.json --inject inject.txt

metric() { curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | sed -n "s/^$1 \([0-9.e+-]*\)$/\1/p"; }
kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$GD/status"; }

# ---- 1: logging ----
t0=$(date +%s%N)
echo 'chat/go go' >>"$D/inject.txt"
wait_for "$D/err.log" '"module":"chatty","msg":"[0-9]+ log lines suppressed' 30 \
  || fail "chatty's suppressed lines are announced" "$(grep -F '"chatty"' "$D/err.log" | tail -2)"
for ((i = 0; i < 600; i++)); do   # until every one of its 60,000 lines is counted
  s=$(metric 'graft_module_log_suppressed_total{module="chatty"}')
  [ $((${s:-0} + $(grep -cF '"module":"chatty"' "$D/err.log"))) -ge 60000 ] && break
  sleep 0.1
done
t1=$(date +%s%N)
secs=$(((t1 - t0) / 1000000000 + 1))
own=$(grep -cF '"module":"chatty","msg":"chatty line"' "$D/err.log")
host=$(grep -cF '"msg":"iot_v1.publish from module chatty: refused' "$D/err.log")
bound=$((200 + 100 * secs))
[ "$own" -ge 200 ] && [ "$own" -le "$bound" ] \
  && pass || fail "chatty's own lines (log and fd_write) stay within burst 200 + 100/s" "$own lines in ${secs} s, bound $bound"
[ "$host" -ge 200 ] && [ "$host" -le "$bound" ] \
  && pass || fail "the host's refusal lines about chatty stay within burst 200 + 100/s" "$host lines in ${secs} s, bound $bound"
s=$(metric 'graft_module_log_suppressed_total{module="chatty"}')
[ "${s:-0}" -ge $((60000 - own - host)) ] \
  && pass || fail "graft_module_log_suppressed_total counts every suppressed line" "got '${s:-}', $own + $host written"
n=$(grep -cF '"module":"chatty","msg":"' "$D/err.log")
[ "$n" -le $((2 * bound + 2 * secs + 10)) ] && pass || fail "chatty's lines in all, notices included, are bounded" "$n lines"
echo "log: $own own and $host host lines written, ${s:-?} suppressed, in ${secs} s"

# ---- 2: inbox bytes ----
base=$(kb VmRSS)
echo 'blast/go go' >>"$D/inject.txt"
for ((i = 0; i < 1200; i++)); do   # until the slow module has finished what it was given
  a=$(metric 'graft_module_messages_in_total{module="slow"}')
  sleep 0.5
  b=$(metric 'graft_module_messages_in_total{module="slow"}')
  [ "${b:-0}" -gt 0 ] && [ "$a" = "$b" ] && break
done
peak=$(kb VmHWM)
got=$(metric 'graft_module_messages_in_total{module="slow"}')
echo "rss: ${base} kB before the blast, peak ${peak} kB; slow took ${got:-?} of 300"
[ $((peak - base)) -lt 65536 ] \
  && pass || fail "300 messages of 1 MB to a slow module raise RSS by less than 64 MiB" "${base} kB -> peak ${peak} kB"
[ "${got:-0}" -ge 1 ] && [ "${got:-0}" -lt 300 ] \
  && pass || fail "the slow module's inbox dropped what exceeded its byte bound" "it took ${got:-?} of 300"

# ---- 3: a CPU-time deadline under load ----
lat() { metric "graft_module_event_latency_seconds_$1{module=\"burner\"}"; }
# wait until n burner events more than c0 have run; 0 when they have
events_past() {
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(lat count)" -ge "$1" ] 2>/dev/null && return 0
    grep -qF '"module":"burner","msg":"quarantined' "$D/err.log" && return 1
    sleep 0.1
  done
  return 1
}
c0=$(lat count); s0=$(lat sum)
for i in 1 2 3; do echo 'burn/x xxxxxxxxxx' >>"$D/inject.txt"; done
events_past $((c0 + 3)) || fail "burner's calibration events ran"
c1=$(lat count); s1=$(lat sum)
# bytes of payload for ~120 ms of CPU: 10 bytes took (s1 - s0) / 3 seconds
len=$(awk -v s="$s0" -v t="$s1" 'BEGIN { per = (t - s) / 30; n = int(0.12 / per); if (n < 1) n = 1; if (n > 8000) n = 8000; print n }')
payload=$(head -c "$len" /dev/zero | tr '\0' x)
for i in 1 2 3; do
  taskset -c 0 timeout 60 sh -c 'while :; do :; done' &
  PIDS+=("$!")
  LOOPS+=("$!")
done
taskset -a -p -c 0 "$GD" >/dev/null || fail "graftd pinned to CPU 0"
for i in 1 2 3 4 5 6; do echo "burn/x $payload" >>"$D/inject.txt"; done
events_past $((c1 + 6)) || fail "burner's loaded events ran" "$(tail -3 "$D/err.log")"
c2=$(lat count); s2=$(lat sum)
kill "${LOOPS[@]}" 2>/dev/null
taskset -a -p -c "0-$(($(nproc) - 1))" "$GD" >/dev/null
mean=$(awk -v s="$s1" -v t="$s2" -v a="$c1" -v b="$c2" 'BEGIN { printf "%d", (t - s) / (b - a) * 1000 }')
echo "burner: $len bytes a message; loaded events took ${mean} ms of wall time on average"
grep -qF '"module":"burner","msg":"trap' "$D/err.log" \
  && fail "a module using about half its 200 ms per event is not interrupted when the host is busy" \
          "$(grep -F '"module":"burner","msg":"trap' "$D/err.log" | head -2)" || pass
[ "$mean" -gt 200 ] && pass || fail "the load made burner's events outlast 200 ms of wall time (else the check above proves nothing)" "${mean} ms"

kill -TERM "$GD"
wait "$GPID"
check_eq "graftd exits 0 on SIGTERM" "$?" 0
finish
