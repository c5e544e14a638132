#!/usr/bin/env bash
# graftd_replace.sh - a reload whose replacement for a running module is
# broken must leave the running version serving (docs/agent.md, "Reload"):
# the refusal is logged with its reason and counted in /metrics
# (graft_module_replacement_refused_total), and a good replacement takes
# over with the module's kv state.
#
# `counter` counts the messages it received in kv key "n" and publishes the
# count on out/count (as decimal text); ticker feeds it every 20 ms. Through
# successive SIGHUPs its wasm becomes a truncated file, a valid module
# without on_message, a module whose start function traps, and a module
# whose start function loops past its deadline; its manifest stops
# parsing; its grants lose a capability it imports. After each the count
# goes on rising from where it was, by the same instance (no restart). Then
# a good version 2 replaces it and goes on counting from the same state.
# `flaky` traps on every message: broken replacements while it is in
# backoff, and once it is quarantined, keep it as it is. Last, with the
# state dir on a full 3 MB tmpfs (root only, as in CI), a replacement still
# takes over, since the kv namespace is handed over in memory.
. "$(dirname "$0")/harness.bash" "$@"

GRAFTD="$BUILD/graftd"
[ -x "$GRAFTD" ] || abort "no graftd at $GRAFTD"
command -v wat2wasm >/dev/null || abort "wat2wasm is needed (wabt)"
command -v curl >/dev/null || abort "curl is needed"
[ "$(id -u)" -eq 0 ] || abort "this test mounts a small tmpfs for the full-disk case: run it as root (CI does)"

D="$WORK/d"
mkdir -p "$D/mods" "$D/state"
mount -t tmpfs -o size=3m,mode=0700 tmpfs "$D/state" || abort "cannot mount a tmpfs on $D/state"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; sleep 0.2; umount "$D/state" 2>/dev/null; rm -rf "$WORK"' EXIT

cp "$SRC/tests/e2e/wat/ticker.wat" "$D/mods/ticker.wat"
# counter VERSION_TAG START_BODY: the counting module; START_BODY goes in
# its start function (empty: none), VERSION_TAG is published with the count.
counter_wat() {
  cat <<WAT
(module
  (import "iot_v1" "kv_get" (func \$get (param i32 i32 i32 i32) (result i32)))
  (import "iot_v1" "kv_put" (func \$put (param i32 i32 i32 i32) (result i32)))
  (import "iot_v1" "publish" (func \$pub (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "out/count")
  (data (i32.const 16) "n")
  (data (i32.const 40) "$1")
  (func \$s $2)
  (start \$s)
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 4096))
  ;; n = kv n (0 when absent) + 1; kv n = n; publish "TAG n" in decimal
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) (local \$n i32) (local \$p i32)
    (if (i32.lt_s (call \$get (i32.const 16) (i32.const 1) (i32.const 32) (i32.const 4)) (i32.const 0))
      (then (i32.store (i32.const 32) (i32.const 0))))
    (local.set \$n (i32.add (i32.load (i32.const 32)) (i32.const 1)))
    (i32.store (i32.const 32) (local.get \$n))
    (drop (call \$put (i32.const 16) (i32.const 1) (i32.const 32) (i32.const 4)))
    (local.set \$p (i32.const 80))
    (loop \$d
      (local.set \$p (i32.sub (local.get \$p) (i32.const 1)))
      (i32.store8 (local.get \$p) (i32.add (i32.const 48) (i32.rem_u (local.get \$n) (i32.const 10))))
      (local.set \$n (i32.div_u (local.get \$n) (i32.const 10)))
      (br_if \$d (local.get \$n)))
    (local.set \$p (i32.sub (local.get \$p) (i32.const 1)))
    (i32.store8 (local.get \$p) (i32.const 32))
    (local.set \$p (i32.sub (local.get \$p) (i32.const 2)))
    (i32.store16 (local.get \$p) (i32.load16_u (i32.const 40)))
    (call \$pub (i32.const 0) (i32.const 9) (local.get \$p) (i32.sub (i32.const 80) (local.get \$p)))))
WAT
}
cat >"$D/mods/flaky.wat" <<'WAT'
(module
  (memory (export "memory") 1)
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "on_message") (param i32 i32 i32 i32) (result i32) unreachable))
WAT
for m in ticker flaky; do wat2wasm "$D/mods/$m.wat" -o "$D/mods/$m.wasm" || abort "wat2wasm $m"; done
counter_wat v1 '' >"$D/mods/counter.wat"
wat2wasm "$D/mods/counter.wat" -o "$D/mods/counter.wasm" || abort "wat2wasm counter"
cp "$D/mods/counter.wasm" "$D/counter-v1.wasm"

manifest() {  # manifest NAME VERSION CAPS
  printf '{ "manifest_version": 1, "name": "%s", "version": "%s", "host_api": "iot_v1", "capabilities": { %s } }\n' "$1" "$2" "$3"
}
TICK_CAPS='"publish": ["ok/tick"], "timers": { "count": 1, "min_period_ms": 20 }'
COUNT_CAPS='"subscribe": ["ok/tick"], "publish": ["out/count"], "kv": { "quota_bytes": 4096 }'
manifest ticker 1.0.0 "$TICK_CAPS" >"$D/mods/ticker.json"
manifest counter 1.0.0 "$COUNT_CAPS" >"$D/mods/counter.json"
manifest flaky 1.0.0 '"subscribe": ["ok/tick"]' >"$D/mods/flaky.json"
cp "$D/mods/counter.json" "$D/counter-v1.json"

# config [COUNTER_GRANTS] [FLAKY_MANIFEST_VERSION]: the config file.
config() {
  local grants=${1:-$COUNT_CAPS}
  printf '{ "config_version": 1, "agent": { "name": "r", "backoff_initial_ms": %s, "backoff_max_ms": %s, "crash_loop_traps": %s, "crash_loop_window_s": 600 },\n  "http": { "port": 0 }, "state_dir": "%s", "drivers": [],\n  "modules": [\n  { "name": "ticker", "wasm": "%s", "grants": { %s }, "limits": { "wall_ms_per_event": 2000 } },\n  { "name": "counter", "wasm": "%s", "grants": { %s }, "limits": { "wall_ms_per_event": 2000 } },\n  { "name": "flaky", "wasm": "%s", "grants": { "subscribe": ["ok/tick"] } } ] }\n' \
    "${BACKOFF:-1500}" "${BACKOFF:-1500}" "${TRAPS:-1000}" "$D/state" "$D/mods/ticker.wasm" "$TICK_CAPS" \
    "$D/mods/counter.wasm" "$grants" "$D/mods/flaky.wasm" >"$D/config.json.new"
  mv "$D/config.json.new" "$D/config.json"
}
config

reload() { reload_in "$D"; }
# last: the last count counter published.
last() { grep -F '"topic":"out/count"' "$D/dump.jsonl" | tail -1 | sed -n 's/.*"text":"v[0-9] \([0-9]*\)".*/\1/p'; }
lasttag() { grep -F '"topic":"out/count"' "$D/dump.jsonl" | tail -1 | sed -n 's/.*"text":"\(v[0-9]\) .*/\1/p'; }
refused() {  # refused N: the replacement_refused counter of counter is N
  local v
  v=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" |
      sed -n 's/^graft_module_replacement_refused_total{module="counter"} \([0-9]*\)$/\1/p')
  [ "${v:-0}" = "$1" ]
}

graftd_up "$D" 150 --config config.json --dump-topic 'out/#' --dump-file dump.jsonl
wait_for "$D/dump.jsonl" '"text":"v1 5"' 10 || abort "counter does not count" "$(tail -3 "$D/err.log")"
wait_for "$D/err.log" '"module":"flaky","msg":"restarting' 10 || fail "flaky traps and backs off"

# try WHAT PATTERN: after the reload just made, the refusal names PATTERN,
# counter's count goes on from where it was (same instance: v1, no
# restart), and the refusal is counted.
REFUSED=0
try() {
  local what=$1 pattern=$2 before after
  REFUSED=$((REFUSED + 1))
  grep -F '"module":"counter"' "$D/err.log" | grep -F 'the new version is refused, the running version (1.0.0) keeps serving' |
    grep -qE -- "$pattern" && pass || fail "$what: the refusal is logged with its reason" "$(grep -F '"counter"' "$D/err.log" | tail -2)"
  before=$(last)
  sleep 0.4
  after=$(last)
  [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] && [ "$(lasttag)" = v1 ] \
    && pass || fail "$what: the running version keeps serving" "count $before -> $after ($(lasttag))"
  refused "$REFUSED" && pass || fail "$what: /metrics counts the refusal ($REFUSED)"
}
STARTS=$(grep -c '"module":"counter","msg":"started' "$D/err.log")

# 1. a truncated wasm
head -c 100 "$D/counter-v1.wasm" >"$D/mods/counter.wasm"
reload
try "a truncated wasm" 'counter.wasm: '
# 2. valid, but no on_message while it subscribes
printf '(module (memory (export "memory") 1))' >"$D/x.wat"
wat2wasm "$D/x.wat" -o "$D/mods/counter.wasm"
reload
try "a module without on_message" 'missing export on_message'
# 3. its start function traps (found only by instantiating it)
counter_wat v2 'unreachable' >"$D/x.wat"
wat2wasm "$D/x.wat" -o "$D/mods/counter.wasm"
reload
try "a start function that traps" 'trap in the start function: unreachable'
# 4. its start function loops: stopped by the deadline, beside the running one
counter_wat v2 '(loop (br 0))' >"$D/x.wat"
wat2wasm "$D/x.wat" -o "$D/mods/counter.wasm"
printf '{ "manifest_version": 1, "name": "counter", "version": "2.0.0", "host_api": "iot_v1", "capabilities": { %s }, "limits": { "fuel_per_event": 100000000000000, "wall_ms_per_event": 300 } }\n' \
  "$COUNT_CAPS" >"$D/mods/counter.json"
reload
try "a start function that loops" 'trap in the start function: interrupted \((CPU-time deadline of 300 ms|wall-time bound of 1500 ms); ran [0-9]+ ms CPU, [0-9]+ ms wall\)'
# 5. the manifest stops parsing (the wasm is good again)
cp "$D/counter-v1.wasm" "$D/mods/counter.wasm"
echo '{ "manifest_version": 1, "name": ' >"$D/mods/counter.json"
reload
try "a manifest that does not parse" 'counter.json'
# 6. the grants lose the kv capability it imports
cp "$D/counter-v1.json" "$D/mods/counter.json"
config '"subscribe": ["ok/tick"], "publish": ["out/count"]'
reload
try "grants without the kv it imports" 'capability kv .* is not granted'
[ "$(grep -c '"module":"counter","msg":"started' "$D/err.log")" = "$STARTS" ] \
  && pass || fail "no broken version ever started or restarted counter"
grep -qE '"module":"counter","msg":"(removing|replacing)' "$D/err.log" \
  && fail "counter was never removed or replaced" "$(grep -E '"counter".*(removing|replacing)' "$D/err.log" | head -2)" || pass

# 7. flaky in backoff (1.5 s, never quarantined at 1000 traps) when a broken
# replacement comes: kept, and it restarts after its backoff
head -c 50 "$D/mods/flaky.wasm" >"$D/flaky-bad.wasm"
cp "$D/mods/flaky.wasm" "$D/flaky-good.wasm"
cp "$D/flaky-bad.wasm" "$D/mods/flaky.wasm"
config
reload
grep -qF '"module":"flaky","msg":"reload: the new version is refused, the running version (1.0.0) keeps serving' "$D/err.log" \
  && pass || fail "flaky in backoff: the broken replacement is refused" "$(grep -F '"flaky"' "$D/err.log" | tail -2)"
r0=$(grep -c '"module":"flaky","msg":"restarting' "$D/err.log")
for ((i = 0; i < 100; i++)); do
  [ "$(grep -c '"module":"flaky","msg":"restarting' "$D/err.log")" -gt "$r0" ] && break
  sleep 0.05
done
[ "$(grep -c '"module":"flaky","msg":"restarting' "$D/err.log")" -gt "$r0" ] \
  && pass || fail "flaky, kept in its backoff, restarts and traps again"
# ... and quarantined: a good flaky under 2 traps in a row quarantines at
# once; a broken replacement then keeps the quarantine
cp "$D/flaky-good.wasm" "$D/mods/flaky.wasm"
BACKOFF=50 TRAPS=2 config
reload
wait_for "$D/err.log" '"module":"flaky","msg":"quarantined' 10 && pass || fail "flaky is quarantined" "$(grep -F '"flaky"' "$D/err.log" | tail -2)"
cp "$D/flaky-bad.wasm" "$D/mods/flaky.wasm"
BACKOFF=50 TRAPS=2 config
reload
grep -qF '"module":"flaky","msg":"reload: the new version is refused, the running version (1.0.0) keeps its quarantine' "$D/err.log" \
  && pass || fail "flaky quarantined: the broken replacement is refused, the quarantine kept" "$(grep -F '"flaky"' "$D/err.log" | tail -2)"
grep -F '"module":"flaky"' "$D/err.log" | tail -1 | grep -qF 'keeps its quarantine' \
  && pass || fail "flaky stays quarantined, not restarted" "$(grep -F '"flaky"' "$D/err.log" | tail -1)"

# 8. a good version 2 takes over, with counter's kv state, on a full disk
BACKOFF=50 TRAPS=2 config
dd if=/dev/zero of="$D/state/fill" bs=64k 2>/dev/null
[ "$(df --output=avail "$D/state" | tail -1)" -le 64 ] || fail "the state dir is full" "$(df -h "$D/state" | tail -1)"
n1=$(last)
counter_wat v2 '' >"$D/x.wat"
wat2wasm "$D/x.wat" -o "$D/mods/counter.wasm"
manifest counter 2.0.0 "$COUNT_CAPS" >"$D/mods/counter.json"
reload
wait_for "$D/dump.jsonl" '"text":"v2 ' 5 && pass || fail "version 2 takes over on a full disk" "$(grep -F '"counter"' "$D/err.log" | tail -3)"
first2=$(grep -F '"text":"v2 ' "$D/dump.jsonl" | head -1 | sed -n 's/.*"text":"v2 \([0-9]*\)".*/\1/p')
# Not -gt: on the full disk the store refuses kv_put (IOT_EIO, issue 9 D),
# which counter ignores, so v1 may have published counts it could not keep.
[ -n "$first2" ] && [ "$first2" -ge "$n1" ] \
  && pass || fail "version 2 counts on from version 1's kv state" "v1 last seen $n1, v2 first $first2"
grep -qF '"module":"counter","msg":"replacing (reload)"' "$D/err.log" && pass || fail "the replacement is logged"
rm -f "$D/state/fill"

kill -TERM "$GD"
wait "$GPID"
RC=$?
[ "$RC" -le 1 ] && pass || fail "graftd exits on SIGTERM" "exit $RC"

finish
