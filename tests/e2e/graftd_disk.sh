#!/usr/bin/env bash
# graftd_disk.sh - graftd's kv state on a full disk (issue 9 D, E): the real
# graftd with its state dir on a 3 MB tmpfs (so this test needs root; CI runs
# as root, and without root it fails saying so) and a WAT module, writer,
# that kv_puts 400 bytes under a new key (its event count, then the
# reading: unique even when a reading comes twice) on every reading of a
# 10 ms sine sensor and publishes the answer: kv/ok, kv/eio (IOT_EIO) or
# kv/other, carrying the key. Observation: --dump-topic 'kv/#', the JSON log, /metrics, /healthz,
# the exit status and the SQLite file read with the sqlite3 CLI afterwards.
#
# Scenarios, one graftd: writes flow and the WAL stays small; the disk is
# filled (a filler file, topped up while the test wants it full, since the
# store's checkpoint after a failure hands WAL pages back): the failure is
# logged once with SQLite's reason, the module gets IOT_EIO, /metrics shows
# graft_kv_durable 0 and the pending events, which do not grow, /healthz
# answers 503; the filler is removed: flushing resumes (logged with the
# count written) and writes are accepted again; the disk is filled again and
# graftd gets SIGTERM: it retries for 5 s, logs how many events it lost and
# why, and exits 3. Then every key the module was told is ok is on disk,
# except exactly the ones reported lost.
. "$(dirname "$0")/harness.bash" "$@"

GRAFTD="$BUILD/graftd"
[ -x "$GRAFTD" ] || abort "no graftd at $GRAFTD"
[ "$(id -u)" -eq 0 ] || abort "graftd_disk.sh mounts a 3 MB tmpfs as graftd's state dir and needs root (CI runs as root)"
for tool in wat2wasm sqlite3 curl; do command -v "$tool" >/dev/null || abort "$tool is needed"; done

D="$WORK/d"
STATE="$D/state"
mkdir -p "$STATE"
mount -t tmpfs -o size=3m,mode=0700 tmpfs "$STATE" || abort "mount -t tmpfs -o size=3m,mode=0700 tmpfs $STATE failed"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${KEEP:-}" ] && cp -a "$D" "$KEEP"
  umount "$STATE" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$D/writer.wat" <<'WAT'
;; writer: key = its event count (4 bytes, written over the topic's tail
;; just before the payload) then the payload; value: 400 bytes. The answer
;; is published on kv/ok, kv/eio or kv/other with the key as payload.
(module
  (import "iot_v1" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (import "iot_v1" "publish" (func $pub (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $n (mut i32) (i32.const 0))
  (data (i32.const 16) "kv/ok")
  (data (i32.const 32) "kv/eio")
  (data (i32.const 48) "kv/other")
  (func (export "graft_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "on_message") (param $t i32) (param $tl i32) (param $p i32) (param $pl i32) (result i32)
    (local $rc i32) (local $k i32) (local $kl i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (local.set $k (i32.sub (local.get $p) (i32.const 4)))
    (local.set $kl (i32.add (local.get $pl) (i32.const 4)))
    (i32.store (local.get $k) (global.get $n))
    (local.set $rc (call $put (local.get $k) (local.get $kl) (i32.const 8192) (i32.const 400)))
    (if (i32.eqz (local.get $rc))
      (then (drop (call $pub (i32.const 16) (i32.const 5) (local.get $k) (local.get $kl))))
      (else (if (i32.eq (local.get $rc) (i32.const -8))
        (then (drop (call $pub (i32.const 32) (i32.const 6) (local.get $k) (local.get $kl))))
        (else (drop (call $pub (i32.const 48) (i32.const 8) (local.get $k) (local.get $kl)))))))
    (i32.const 0)))
WAT
wat2wasm "$D/writer.wat" -o "$D/writer.wasm" || abort "wat2wasm writer.wat"
printf '{ "manifest_version": 1, "name": "writer", "version": "1.0.0", "host_api": "iot_v1",
  "capabilities": { "subscribe": ["sensors/s"], "publish": ["kv/#"], "kv": { "quota_bytes": 67108864 } } }\n' \
  >"$D/writer.json"
cat >"$D/config.json" <<JSON
{ "config_version": 1,
  "agent": { "commit_window_ms": 50, "publish_rate_per_s": 100000, "publish_burst": 100000 },
  "http": { "port": 0 }, "state_dir": "state",
  "drivers": [ { "name": "s", "kind": "sine", "unit": "degC", "interval_ms": 10, "amplitude": 5, "offset": 20, "period_s": 2, "seed": 1 } ],
  "modules": [ { "name": "writer", "wasm": "$D/writer.wasm",
                 "grants": { "subscribe": ["sensors/s"], "publish": ["kv/#"], "kv": { "quota_bytes": 67108864 } } } ] }
JSON
QUEUE=262144

# ---- helpers ------------------------------------------------------------------
count() { grep -cF "\"topic\":\"$1\"" "$D/dump.jsonl"; }
scrape() { curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$D/metrics.txt" 2>/dev/null; }
metric() { sed -n "s/^$1 \([0-9.e+-]*\)\$/\1/p" "$D/metrics.txt"; }
healthz() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/healthz"; }
WAL_MAX=0
note_wal() {
  local w
  w=$(stat -c %s "$STATE/kv.sqlite-wal" 2>/dev/null || echo 0)
  [ "$w" -gt "$WAL_MAX" ] && WAL_MAX=$w
}
# until_count TOPIC N [SECONDS]: until the dump holds N messages on TOPIC.
until_count() {
  local i
  for ((i = 0; i < ${3:-10} * 20; i++)); do
    [ "$(count "$1")" -ge "$2" ] && return 0
    note_wal
    sleep 0.05
  done
  return 1
}
# The disk is kept full by a loop topping up the filler until full_off.
full_on() {
  : >"$D/filling"
  ( while [ -e "$D/filling" ]; do
      dd if=/dev/zero of="$STATE/filler" bs=4k oflag=append conv=notrunc 2>/dev/null
      sleep 0.01   # ahead of the first retry (100 ms) when a checkpoint hands pages back
    done ) &
  FILLER=$!
  PIDS+=("$FILLER")
}
full_off() {
  rm -f "$D/filling"
  wait "$FILLER" 2>/dev/null
  rm -f "$STATE/filler"
}

# ---- 1. writes flow ---------------------------------------------------------------
graftd_up "$D" 120 --config config.json --kv-queue-bytes "$QUEUE" --dump-topic 'kv/#' --dump-file dump.jsonl
until_count kv/ok 150 && pass || fail "the module's writes are acknowledged" "$(count kv/ok) kv/ok"
scrape
[ "$(metric graft_kv_durable)" = 1 ] && [ "$(metric graft_kv_queue_limit_bytes)" = "$QUEUE" ] && [ "$(healthz)" = 200 ] \
  && pass || fail "while writes reach the disk: graft_kv_durable 1, the queue bound from --kv-queue-bytes, /healthz 200" \
                  "$(grep graft_kv "$D/metrics.txt")"

# ---- 2. the disk fills ------------------------------------------------------------
full_on
wait_for "$D/err.log" '"level":"error".*kv store .*writes are not reaching the disk: database or disk is full' 15 \
  && pass || fail "the first failed write is logged with SQLite's reason" "$(grep -i kv "$D/err.log" | tail -3)"
eio0=$(count kv/eio)
until_count kv/eio $((eio0 + 20)) && pass || fail "the module's kv_put answers IOT_EIO while the disk is full" "$(count kv/eio) kv/eio"
scrape
pending=$(metric graft_kv_pending_events)
[ "$(metric graft_kv_durable)" = 0 ] && [ "${pending:-0}" -ge 1 ] && [ "$(metric graft_kv_flush_failures_total)" -ge 1 ] \
  && [ "$(metric graft_kv_writes_refused_total)" -ge 20 ] && [ "$(metric graft_kv_pending_bytes)" -le "$QUEUE" ] \
  && pass || fail "/metrics: graft_kv_durable 0, pending events, failures and refusals counted, the queue within its bound" \
                  "$(grep '^graft_kv' "$D/metrics.txt")"
[ "$(healthz)" = 503 ] && pass || fail "/healthz answers 503 while kv is failing"
sleep 2
scrape
[ "$(metric graft_kv_pending_events)" = "$pending" ] && [ "$(metric graft_kv_flush_failures_total)" -ge 2 ] \
  && pass || fail "while failing, nothing more is queued and the flush is retried" \
                  "pending $pending -> $(metric graft_kv_pending_events), failures $(metric graft_kv_flush_failures_total)"
[ "$(grep -c 'kv store' "$D/err.log")" -eq 1 ] \
  && pass || fail "the failure is logged once, not once per retry" "$(grep 'kv store' "$D/err.log" | head -5)"

# ---- 3. space comes back ----------------------------------------------------------------
full_off
wait_for "$D/err.log" "\"level\":\"info\".*kv store .*flushing resumed after .* failed attempts: $pending events written" 10 \
  && pass || fail "when space returns, flushing resumes and logs how many events it wrote ($pending)" \
                  "$(grep 'kv store' "$D/err.log" | tail -2)"
ok1=$(count kv/ok)
until_count kv/ok $((ok1 + 50)) && pass || fail "writes are acknowledged again" "$(count kv/ok) kv/ok"
scrape
[ "$(metric graft_kv_durable)" = 1 ] && [ "$(healthz)" = 200 ] \
  && pass || fail "after the recovery: graft_kv_durable 1, /healthz 200" "$(grep '^graft_kv' "$D/metrics.txt")"
note_wal
wal_now=$(metric graft_kv_wal_bytes)
[ "$WAL_MAX" -le 1048576 ] && pass || fail "the WAL stays under 1 MiB" "at most $WAL_MAX bytes"

# ---- 4. full again at SIGTERM: bounded retry, the loss counted, exit 3 ------------------------
full_on
for ((i = 0; i < 300; i++)); do
  [ "$(grep -c 'writes are not reaching the disk' "$D/err.log")" -ge 2 ] && break
  sleep 0.05
done
[ "$(grep -c 'writes are not reaching the disk' "$D/err.log")" -eq 2 ] \
  && pass || fail "the second failure is logged too" "$(grep 'kv store' "$D/err.log" | tail -3)"
t0=$(date +%s.%N)
kill -TERM "$GD"
wait "$GPID"
GRC=$?
took=$(echo "$(date +%s.%N) - $t0" | bc)
full_off
[ "$GRC" -eq 3 ] && pass || fail "SIGTERM with kv events it cannot write exits 3" "status $GRC" "$(tail -3 "$D/err.log")"
awk -v t="$took" 'BEGIN { exit !(t >= 4.5 && t < 20) }' \
  && pass || fail "shutdown retries for the bounded 5 s, not forever" "took $took s"
lost=$(sed -n 's/.*kv store [^ ]*: \([0-9]*\) events committed by modules ([0-9]* bytes) could not be written in 5.0 s and are lost: database or disk is full.*/\1/p' "$D/err.log")
[ -n "$lost" ] && [ "$lost" -ge 1 ] && grep -q '"msg":"stopped: kv state NOT fully written' "$D/err.log" \
  && pass || fail "the log says how many events were lost and why" "$(grep -E 'kv store|stopped' "$D/err.log" | tail -3)"

# ---- 5. on disk: every acknowledged write but exactly the lost ones --------------------------
ok=$(count kv/ok)
rows=$(sqlite3 "$STATE/kv.sqlite" "select count(*) from kv where module = 'writer'")
[ "$(count kv/other)" -eq 0 ] && [ -n "$lost" ] && [ "$rows" -eq $((ok - lost)) ] \
  && pass || fail "the rows on disk are the acknowledged writes minus the reported loss" \
                  "kv/ok $ok, lost $lost, rows $rows, kv/other $(count kv/other)"
echo "disk test: $ok writes acknowledged, $(count kv/eio) refused with IOT_EIO, $pending pending while full," \
     "$lost lost at SIGTERM after $took s (reported), $rows on disk; WAL at most $WAL_MAX bytes (${wal_now:-?} at the last scrape)"
finish
