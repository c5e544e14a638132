#!/usr/bin/env bash
# graftd_reload.sh - end-to-end tests of SIGHUP reload beyond modules: the
# real graftd with the example moving_average module, observed through
# --dump-topic '#' (every bus message as a JSON line, with its timestamp)
# and its JSON log; the broker is a real Mosquitto on a free loopback port.
#
# Scenarios, one graftd through successive SIGHUPs:
#   a CSV sensor added by reload publishes the CSV's values in order, and an
#   unchanged sine keeps its t0 (its timestamps stay on one 50 ms grid);
#   a removed sensor stops publishing, and a module reading it (prober, a
#   WAT module probing sensor c every 50 ms) gets IOT_ENOENT and runs on, as
#   it did before c was added; a changed custom topic moves the
#   readings, and moving_average (granted sensors/+) follows the real topic;
#   a broker section added by reload connects and exports, a changed one
#   replaces the bridge, a removed one stops it; an http port change moves
#   /metrics; a changed state_dir is refused with a warning while the rest
#   applies; an invalid new config (a driver topic with a wildcard) is
#   refused whole and everything keeps running.
. "$(dirname "$0")/harness.bash" "$@"

GRAFTD="$BUILD/graftd"
MODS="$BUILD/examples/modules"
[ -x "$GRAFTD" ] || abort "no graftd at $GRAFTD"
[ -f "$MODS/moving_average.wasm" ] || abort "no $MODS/moving_average.wasm (build the 'examples' target first)"
command -v curl >/dev/null || abort "curl is needed"
command -v wat2wasm >/dev/null || abort "wat2wasm is needed (wabt)"

PIDS=()
cleanup_pids() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; }
trap 'cleanup_pids; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
# wait_for and values come from harness.bash.

# count FILE TOPIC: messages on exactly TOPIC in a dump.
count() { grep -cF "\"topic\":\"$2\"" "$1"; }
# stamps FILE TOPIC: the message timestamps (ns) on TOPIC, in order, as their
# last 12 digits (awk's doubles are exact below 2^53).
stamps() { grep -F "\"topic\":\"$2\"" "$1" | sed -n 's/.*"ts_ns":[0-9]*\([0-9]\{12\}\),.*/\1/p'; }
# on_grid FILE: every stamp in FILE lies on one 50 ms grid (at least 20 of them).
on_grid() {
  awk 'NR == 1 { t0 = $1 } { d = $1 - t0; if (d < 0) d += 1e12; if (d % 50000000 != 0) bad = 1 }
       END { exit !(NR >= 20 && !bad) }' "$1"
}

# free_port: a loopback port nobody listens on now.
free_port() {
  local p
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo 0
}

D="$WORK/d"
mkdir -p "$D/mods"
cp "$MODS/moving_average.wasm" "$MODS/moving_average.json" "$D/mods/"
# prober: every 50 ms reads sensor c and says how it went on probe/c:
# "ok" (0), "enoent" (IOT_ENOENT, -2) or "other". A 2 s wall-time limit, so
# a loaded test machine cannot make it trap.
cat >"$D/mods/prober.wat" <<'WAT'
(module
  (import "iot_v1" "sensor_read" (func $read (param i32 i32 i32) (result i32)))
  (import "iot_v1" "publish" (func $pub (param i32 i32 i32 i32) (result i32)))
  (import "iot_v1" "timer_start" (func $start (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "probe/c")
  (data (i32.const 16) "c")
  (data (i32.const 32) "ok")
  (data (i32.const 40) "enoent")
  (data (i32.const 48) "other")
  (func (export "on_start") (result i32) (call $start (i32.const 1) (i32.const 50) (i32.const 1)))
  (func (export "on_timer") (param i32) (result i32) (local $rc i32)
    (local.set $rc (call $read (i32.const 16) (i32.const 1) (i32.const 64)))
    (if (i32.eqz (local.get $rc))
      (then (return (call $pub (i32.const 0) (i32.const 7) (i32.const 32) (i32.const 2)))))
    (if (i32.eq (local.get $rc) (i32.const -2))
      (then (return (call $pub (i32.const 0) (i32.const 7) (i32.const 40) (i32.const 6)))))
    (call $pub (i32.const 0) (i32.const 7) (i32.const 48) (i32.const 5))))
WAT
wat2wasm "$D/mods/prober.wat" -o "$D/mods/prober.wasm" || abort "wat2wasm prober.wat"
printf '{ "manifest_version": 1, "name": "prober", "version": "1.0.0", "host_api": "iot_v1",\n  "capabilities": { "sensors": ["c"], "publish": ["probe/c"], "timers": { "count": 1, "min_period_ms": 20 } },\n  "limits": { "wall_ms_per_event": 2000 } }\n' \
  >"$D/mods/prober.json"
# The CSV added by reload: 30 rows 50 ms apart, values 500 + (11 i mod 23), looping.
awk 'BEGIN { print "timestamp,value"; for (i = 0; i < 30; i++) printf "%.2f,%d\n", i * 0.05, 500 + (11 * i) % 23 }' \
  >"$D/c.csv"

SINE='{ "name": "s", "kind": "sine", "unit": "degC", "interval_ms": 50, "amplitude": 5, "offset": 20, "period_s": 2, "seed": 3 }'
sine_on() { printf '{ "name": "s", "kind": "sine", "unit": "degC", "interval_ms": 50, "amplitude": 5, "offset": 20, "period_s": 2, "seed": 3, "topic": "%s" }' "$1"; }
CSV="{ \"name\": \"c\", \"kind\": \"csv\", \"file\": \"$D/c.csv\", \"loop\": true, \"interval_ms\": 50 }"
MA="{ \"name\": \"moving_average\", \"wasm\": \"$D/mods/moving_average.wasm\", \"grants\": { \"subscribe\": [\"sensors/+\"], \"publish\": [\"avg/+\"] } }"
PR="{ \"name\": \"prober\", \"wasm\": \"$D/mods/prober.wasm\", \"grants\": { \"sensors\": [\"c\"], \"publish\": [\"probe/c\"], \"timers\": { \"count\": 1, \"min_period_ms\": 20 } } }"

# config DRIVERS [EXTRA]: the config file; EXTRA adds top-level members.
config() {
  printf '{ "config_version": 1, "agent": { "name": "r" }, "http": %s, "state_dir": "%s",%s\n  "drivers": [ %s ],\n  "modules": [ %s ] }\n' \
    "${HTTP:-{ \"port\": 0 \}}" "${STATE:-state}" "${2:+ $2,}" "$1" "$MA, $PR" >"$D/config.json.new"
  mv "$D/config.json.new" "$D/config.json"
}

# reload: SIGHUP, then wait for the next "reloaded" (or refused) line.
reload() { reload_in "$D"; }

config "$SINE"
: >"$D/inject.txt"
(cd "$D" && exec timeout -s KILL 120 "$GRAFTD" --config config.json --inject inject.txt \
   --dump-topic '#' --dump-file dump.jsonl 2>>err.log) &
GPID=$!
PIDS+=("$GPID")
wait_for "$D/err.log" '"msg":"graftd .* up:' 20 || abort "graftd did not come up" "$(tail -5 "$D/err.log")"
GD=$(pgrep -P "$GPID")
PIDS+=("$GD")
wait_for "$D/dump.jsonl" '"topic":"avg/s"' 10 || fail "moving_average runs on s before any reload"
wait_for "$D/dump.jsonl" '"topic":"probe/c".*"text":"enoent"' 10 \
  && pass || fail "reading a sensor that does not exist (yet) gives IOT_ENOENT"
port1=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$D/err.log" | head -1)

# ---- 1. a sensor added by reload; the unchanged one keeps its state -------------
config "$SINE, $CSV"
reload
grep -qE '"msg":"reload: drivers: added \[c\], changed \[\], removed \[\]"' "$D/err.log" \
  && pass || fail "the reload logs the added driver" "$(grep 'reload:' "$D/err.log" | tail -3)"
wait_for "$D/dump.jsonl" '"topic":"avg/c"' 10 && pass || fail "the added sensor's readings reach moving_average"
wait_for "$D/dump.jsonl" '"topic":"probe/c".*"text":"ok"' 10 && pass || fail "a module reads the added sensor"
sleep 1
values "$D/dump.jsonl" sensors/c >"$D/c.got"
awk -F, 'NR > 1 { print $2 }' "$D/c.csv" >"$D/c.want"
# In order, cyclically: the sampling and the rows share a 50 ms period, so
# jitter may repeat a row or skip one or two, never reorder.
if [ "$(wc -l <"$D/c.got")" -ge 10 ] && awk 'NR == FNR { v[n++] = $1; next }
     FNR == 1 { for (i = 0; i < n && v[i] != $1; i++); if (i == n) bad = 1; next }
     { for (k = 0; k <= 3 && v[(i + k) % n] != $1; k++); if (k > 3) bad = 1; i = (i + k) % n } END { exit bad }' \
     "$D/c.want" "$D/c.got"; then pass
else fail "sensors/c carries the CSV's values in order" "$(head -12 "$D/c.got" | tr '\n' ' ')"; fi
# The sine was not rebuilt: every timestamp, before and after, on one grid.
stamps "$D/dump.jsonl" sensors/s >"$D/s.ts"
on_grid "$D/s.ts" && pass || fail "the unchanged sine keeps its t0 across the reload" "$(wc -l <"$D/s.ts") stamps"
grep -q '"module":"moving_average","msg":"replacing' "$D/err.log" \
  && fail "a driver change does not restart the untouched module" || pass

# ---- 2. a removed sensor stops publishing ----------------------------------------
config "$SINE"
reload
grep -qE '"msg":"reload: drivers: added \[\], changed \[\], removed \[c\]"' "$D/err.log" \
  && pass || fail "the reload logs the removed driver"
sleep 0.2
c1=$(count "$D/dump.jsonl" sensors/c); s1=$(count "$D/dump.jsonl" sensors/s)
sleep 0.6
c2=$(count "$D/dump.jsonl" sensors/c); s2=$(count "$D/dump.jsonl" sensors/s)
[ "$c1" = "$c2" ] && [ "$s2" -gt "$s1" ] && pass || fail "a removed sensor stops publishing; the other goes on" "c $c1->$c2, s $s1->$s2"
grep -F '"topic":"probe/c"' "$D/dump.jsonl" | tail -3 | grep -c '"text":"enoent"' | grep -qx 3 \
  && ! grep -qF '"text":"other"' "$D/dump.jsonl" \
  && ! grep -qE '"module":"prober","msg":"(trap|replacing|removing)' "$D/err.log" \
  && pass || fail "a module reading the removed sensor gets IOT_ENOENT and runs on" \
                  "$(grep -F '"topic":"probe/c"' "$D/dump.jsonl" | tail -3)"

# ---- 3. a custom topic moves the flow --------------------------------------------
a1=$(count "$D/dump.jsonl" avg/s)
config "$(sine_on plant/hall/s)"
reload
grep -qE '"msg":"reload: drivers: added \[\], changed \[s \(topic sensors/s -> plant/hall/s\)\], removed \[\]"' "$D/err.log" \
  && pass || fail "the reload logs the topic change" "$(grep 'reload: drivers' "$D/err.log" | tail -1)"
wait_for "$D/dump.jsonl" '"topic":"plant/hall/s"' 5 && pass || fail "readings go to the custom topic"
sleep 0.3
s1=$(count "$D/dump.jsonl" sensors/s); a2=$(count "$D/dump.jsonl" avg/s)
sleep 0.6
s2=$(count "$D/dump.jsonl" sensors/s); a3=$(count "$D/dump.jsonl" avg/s)
[ "$s1" = "$s2" ] && [ "$a2" = "$a3" ] && [ "$a2" -ge "$a1" ] \
  && pass || fail "nothing more on sensors/s, and moving_average (granted sensors/+ only) no longer gets s" "sensors/s $s1->$s2 avg/s $a2->$a3"
config "$(sine_on sensors/boiler)"
reload
wait_for "$D/dump.jsonl" '"topic":"avg/boiler"' 10 \
  && pass || fail "on a custom topic inside its grant, moving_average follows the real topic (avg/boiler)"
stamps "$D/dump.jsonl" sensors/s >"$D/s.ts"
stamps "$D/dump.jsonl" plant/hall/s >>"$D/s.ts"
stamps "$D/dump.jsonl" sensors/boiler >>"$D/s.ts"
on_grid "$D/s.ts" && pass || fail "a topic change keeps the source's state (one timestamp grid)"

# ---- 4. an invalid new config is refused whole ---------------------------------------
cp "$D/config.json" "$D/config.good"
config "$(sine_on 'plant/+/s'), $CSV"
reload
grep -qE '"msg":"reload refused, keeping the running config: .*config.json: drivers\[0\]\.topic: expected a topic name' "$D/err.log" \
  && pass || fail "a driver topic with a wildcard refuses the reload" "$(grep 'reload refused' "$D/err.log" | tail -1)"
b1=$(count "$D/dump.jsonl" sensors/boiler); sleep 0.4; b2=$(count "$D/dump.jsonl" sensors/boiler)
[ "$b2" -gt "$b1" ] && [ "$(count "$D/dump.jsonl" sensors/c)" = "$c2" ] \
  && pass || fail "after a refused reload the running drivers go on, nothing was added"
cp "$D/config.good" "$D/config.json"

# ---- 5. http: a port change moves /metrics; state_dir refused, the rest applied ------
curl -fsS --max-time 5 "http://127.0.0.1:$port1/metrics" >/dev/null && pass || fail "/metrics on the first port"
port2=$(free_port)
HTTP="{ \"port\": $port2 }" STATE=elsewhere config "$(sine_on sensors/boiler), $CSV"
reload
grep -qE "\"msg\":\"reload: http: port changed; metrics on http://127.0.0.1:$port2/metrics\"" "$D/err.log" \
  && pass || fail "the reload logs the http change" "$(grep 'reload: http' "$D/err.log" | tail -1)"
curl -fsS --max-time 10 "http://127.0.0.1:$port2/metrics" >"$D/metrics.txt" 2>&1
grep -q '^graft_module_messages_in_total{module="moving_average"}' "$D/metrics.txt" \
  && pass || fail "/metrics answers on the new port" "$(head -3 "$D/metrics.txt")"
curl -fsS --max-time 2 "http://127.0.0.1:$port1/metrics" >/dev/null 2>&1 \
  && fail "the old port no longer serves /metrics" || pass
grep -qE '"level":"warn".*"msg":"reload: state_dir changed to [^"]*/elsewhere but not applied: .* restart graftd' "$D/err.log" \
  && [ ! -e "$D/elsewhere" ] && pass || fail "a changed state_dir is refused with a warning naming it" "$(grep state_dir "$D/err.log" | tail -1)"
wait_for "$D/dump.jsonl" '"topic":"sensors/c"' 5 && grep -qE '"msg":"reload: drivers: added \[c\]' "$D/err.log" \
  && pass || fail "the rest of that reload (the CSV sensor) applied"

# ---- 6. broker: added, changed, removed ----------------------------------------------
MOSQ=/usr/sbin/mosquitto
if [ -x "$MOSQ" ] && command -v mosquitto_sub >/dev/null; then
  M="$WORK/m"
  mkdir -p "$M"
  for try in 1 2 3 4 5; do   # a free loopback port; retry when it is taken
    mport=$(free_port)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mport" >"$M/mosq.conf"
    timeout -s KILL 90 "$MOSQ" -c "$M/mosq.conf" -v >"$M/mosq.log" 2>&1 &
    MPID=$!
    PIDS+=("$MPID")
    for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$mport") 2>/dev/null && break; sleep 0.05; done
    kill -0 "$MPID" 2>/dev/null && break
  done
  timeout -s KILL 60 mosquitto_sub -h 127.0.0.1 -p "$mport" -t 'avg/#' -t 'sensors/#' -v >"$M/sub.txt" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  sleep 0.3
  STATE=elsewhere config "$(sine_on sensors/boiler)" "\"broker\": { \"port\": $mport, \"client_id\": \"gw-one\", \"export\": [\"avg/#\"] }"
  reload
  grep -qE "\"msg\":\"reload: broker: section added; bridging the bus to mqtt://127.0.0.1:$mport\"" "$D/err.log" \
    && pass || fail "the reload logs the added broker" "$(grep 'reload: broker' "$D/err.log" | tail -1)"
  wait_for "$M/mosq.log" 'connected from .* as gw-one' 10 && pass || fail "the bridge added by reload connects" "$(tail -3 "$M/mosq.log")"
  wait_for "$M/sub.txt" '^avg/boiler ' 10 && pass || fail "avg/boiler reaches the broker through the new bridge"
  STATE=elsewhere config "$(sine_on sensors/boiler)" "\"broker\": { \"port\": $mport, \"client_id\": \"gw-two\", \"export\": [\"sensors/#\"] }"
  reload
  grep -qE '"msg":"reload: broker: client_id, export changed; bridge replaced' "$D/err.log" \
    && pass || fail "the reload logs the replaced bridge" "$(grep 'reload: broker' "$D/err.log" | tail -1)"
  wait_for "$M/mosq.log" 'connected from .* as gw-two' 10 && wait_for "$M/mosq.log" 'Client gw-one (closed|disconnected)' 10 \
    && pass || fail "the new bridge connects and the old one leaves" "$(tail -4 "$M/mosq.log")"
  wait_for "$M/sub.txt" '^sensors/boiler ' 10 && pass || fail "the new export set applies"
  STATE=elsewhere config "$(sine_on sensors/boiler)"
  reload
  grep -qE '"msg":"reload: broker: section removed; the bridge to mqtt://127.0.0.1:[0-9]+ is stopped"' "$D/err.log" \
    && wait_for "$M/mosq.log" 'Client gw-two (closed|disconnected)' 10 \
    && pass || fail "a removed broker section stops the bridge" "$(tail -3 "$M/mosq.log")"
  n1=$(grep -c '^sensors/boiler ' "$M/sub.txt"); sleep 0.5; n2=$(grep -c '^sensors/boiler ' "$M/sub.txt")
  [ "$n1" = "$n2" ] && pass || fail "nothing is exported after the bridge is stopped" "$n1 -> $n2"
  kill "$SPID" "$MPID" 2>/dev/null
else
  echo "note: no $MOSQ; the broker reload test is skipped" >&2
fi

kill -TERM "$GD"
wait "$GPID"
rc=$?
[ "$rc" -eq 0 ] && pass || fail "SIGTERM exits 0 after the reloads" "status $rc"
# The agent's own errors (a module's trap on a loaded machine is not one).
grep '"level":"error"' "$D/err.log" | grep -E '"module":"agent"|"msg":"reload' | grep -v '"msg":"reload refused' >"$D/errors"
[ -s "$D/errors" ] && fail "the agent logged no error but the refused reload's" "$(head -3 "$D/errors")" || pass

finish
