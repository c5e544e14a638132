#!/usr/bin/env bash
# demo-gateway.sh BUILD_DIR - the gateway at work: graftd on the embedded
# example config (examples/gateway/gateway.json: simulated temperature,
# humidity and pressure sensors; moving_average -> threshold_alarm as a
# pipeline; unit_converter; rule_engine whose rules are set at run time by a
# message on control/rule_engine; an actuator log) on the in-process bus.
# It prints graftd's live summary every 2 s for DEMO_SECONDS (default 20):
# the latest readings, averages, alarms and alerts really seen on the bus,
# and per-module counters; then stops graftd with SIGTERM (exit 0).
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TOTAL=${DEMO_SECONDS:-20}
[ -x "$B/graftd" ] || { echo "demo-gateway: no $B/graftd (build first)" >&2; exit 1; }
[ -f "$B/examples/modules/moving_average.wasm" ] || { echo "demo-gateway: no example modules in $B/examples/modules (build the examples target)" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/graftd-demo.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
ln -s "$B/examples/modules" "$dir/modules"
cp "$SRC/examples/gateway/gateway.json" "$dir/config.json"
: >"$dir/inject.txt"

printf '\n\033[1m== graftd: the gateway on simulated sensors (%s s)\033[0m\n' "$SECONDS_TOTAL"
echo "   pipeline: sensors/+ -> moving_average -> avg/+ -> threshold_alarm -> alarms/+"
echo "             sensors/+ -> unit_converter -> conv/+/+;  sensors/+ -> rule_engine -> alerts/#"
(cd "$dir" && exec "$B/graftd" --config config.json --log-level warn --summary-every 2 --summary-text \
   --inject inject.txt) 2>"$dir/graftd.log" &
pid=$!
sleep 1
echo "   (1 s) setting rule_engine's rules by a message on control/rule_engine:"
echo "         temp1 > 31 alerts/temp1/hot;  humidity < 40 alerts/humidity/dry"
echo 'control/rule_engine temp1 > 31 alerts/temp1/hot\nhumidity < 40 alerts/humidity/dry' >>"$dir/inject.txt"
end=$((SECONDS + SECONDS_TOTAL - 1))
while [ $SECONDS -lt $end ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
if [ "$rc" -ne 0 ]; then
  echo "demo-gateway: graftd exited with status $rc" >&2
  tail -n 20 "$dir/graftd.log" >&2
  exit 1
fi
echo "   graftd stopped on SIGTERM (exit 0); warnings and errors it logged:"
grep -E '"level":"(warn|error)"' "$dir/graftd.log" | head -n 5 | sed 's/^/   /' || echo "   (none)"
