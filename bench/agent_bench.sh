#!/usr/bin/env bash
# agent_bench.sh - graftd benchmarks (issue 5, section 8; bench/README.md):
# throughput and p50/p99 latency through 1 and 3 pass-through modules on the
# in-process bus and through a Mosquitto broker on loopback, QoS 0, 64-byte
# payloads, the agent's threads on core 0; then memory per idle instance.
#
#   bench/agent_bench.sh [BUILD_DIR] [SECONDS]
#   GEN=mosq bench/agent_bench.sh ...   libmosquitto load generator (default raw)
#   ONLY=mqtt bench/agent_bench.sh ...  the broker runs alone (no bus, no mem)
#
# The broker runs start with the ceiling without graftd: `direct` (load
# generator -> broker -> sink, two hops) and `relay` (a minimal relay of ours
# on core 0 in graftd's place, the same four hops as the mqtt runs).
#
# BUILD_DIR (default build-abench) must hold bench_agent_throughput
# (cmake --build BUILD_DIR --target bench_agent_throughput). Every process
# runs under timeout; the broker listens on a free 127.0.0.1 port only and is
# killed on exit.
set -u
BUILD=${1:-build-abench}
SECS=${2:-3}
GEN=${GEN:-raw}
ONLY=${ONLY:-}
B="$BUILD/bench_agent_throughput"
[ -x "$B" ] || { echo "no $B (cmake --build $BUILD --target bench_agent_throughput)" >&2; exit 2; }
command -v wat2wasm >/dev/null || { echo "wat2wasm (wabt) is needed" >&2; exit 2; }
WORK=$(mktemp -d /tmp/graft-abench-sh.XXXXXX)
MPID=
trap '[ -n "$MPID" ] && kill -KILL "$MPID" 2>/dev/null; rm -rf "$WORK"' EXIT
T=$((SECS + 30))

echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "$ONLY" ]; then
  for st in 1 3; do
    timeout -s KILL $T "$B" bus $st "$SECS" 256
  done
  timeout -s KILL $T "$B" bus 1 "$SECS" 1    # one message in flight: unloaded latency
fi

MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
if [ -x "$MOSQ" ]; then
  for try in 1 2 3 4 5; do   # a free loopback port; retry when taken
    port=$((20000 + RANDOM % 30000))
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n' "$port" >"$WORK/mosq.conf"
    timeout -s KILL $((6 * T)) taskset -c 1 "$MOSQ" -c "$WORK/mosq.conf" >"$WORK/mosq.log" 2>&1 &
    MPID=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
    kill -0 "$MPID" 2>/dev/null && break
  done
  timeout -s KILL $T "$B" direct "$SECS" 256 "$port"
  timeout -s KILL $T "$B" relay "$SECS" 256 "$port"
  for st in 1 3; do
    timeout -s KILL $T "$B" mqtt $st "$SECS" 256 "$port" "$GEN"
  done
  timeout -s KILL $T "$B" mqtt 1 "$SECS" 1 "$port" "$GEN"
  kill "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null; MPID=
else
  echo "note: no mosquitto; the broker runs are skipped" >&2
fi
[ -z "$ONLY" ] && timeout -s KILL 60 "$B" mem 8 64
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
