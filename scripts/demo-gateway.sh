#!/usr/bin/env bash
# demo-gateway.sh [--mqtt] BUILD_DIR - the gateway at work: graftd on the
# embedded example config (examples/gateway/gateway.json: simulated
# temperature, humidity and pressure sensors; moving_average ->
# threshold_alarm as a pipeline; unit_converter; rule_engine whose rules are
# set at run time by a message on control/rule_engine; an actuator log).
# It prints graftd's live summary every 2 s for DEMO_SECONDS (default 20):
# the latest readings, averages, alarms and alerts really seen on the bus,
# and per-module counters; then stops graftd with SIGTERM (exit 0).
#
# Without --mqtt (`make demo`) graftd runs on its in-process bus alone and
# the rules arrive through its --inject file.
#
# With --mqtt (`make demo-mqtt`) the same gateway is bridged to a real
# Mosquitto started here on a free 127.0.0.1 port: the config gets a broker
# section (written with jq) that exports avg/#, alarms/#, alerts/#, conv/#
# and status/# and imports control/#. What the broker itself carries is
# watched with mosquitto_sub (a tally per topic beside graftd's summary),
# and the rules are changed from outside the gateway with mosquitto_pub on
# control/rule_engine. The broker and the subscriber are stopped on exit.
#
# DEMO_DIR=DIR works in DIR and keeps it (graftd.log; with --mqtt also
# broker.txt, one "TOPIC HEXPAYLOAD" line per message the subscriber got,
# and mosquitto.log): tests/e2e/demo_mqtt.sh reads them.
set -euo pipefail
MQTT=0
if [ "${1:-}" = --mqtt ]; then MQTT=1; shift; fi
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TOTAL=${DEMO_SECONDS:-20}
MOSQ=/usr/sbin/mosquitto
[ -x "$B/graftd" ] || { echo "demo-gateway: no $B/graftd (build first)" >&2; exit 1; }
[ -f "$B/examples/modules/moving_average.wasm" ] || { echo "demo-gateway: no example modules in $B/examples/modules (build the examples target)" >&2; exit 1; }
if [ "$MQTT" = 1 ]; then
  for tool in "$MOSQ" mosquitto_sub mosquitto_pub jq; do
    command -v "$tool" >/dev/null || { echo "demo-gateway: --mqtt needs $tool (scripts/install-deps.sh installs it)" >&2; exit 1; }
  done
fi

if [ -n "${DEMO_DIR:-}" ]; then
  mkdir -p "$DEMO_DIR"
  dir=$(cd "$DEMO_DIR" && pwd)
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/graftd-demo.XXXXXX")
fi
pid='' mpid='' spid=''
cleanup() {
  local p
  for p in "$pid" "$spid" "$mpid"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done
  [ -n "${DEMO_DIR:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
ln -sfn "$B/examples/modules" "$dir/modules"
cp "$SRC/examples/gateway/gateway.json" "$dir/config.json"
RULES='temp1 > 31 alerts/temp1/hot\nhumidity < 40 alerts/humidity/dry'

# wait_log FILE PATTERN TENTHS: until grep -E finds PATTERN in FILE, at most
# TENTHS tenths of a second.
wait_log() {
  local i
  for ((i = 0; i < $3; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# start_broker: Mosquitto on a random free loopback port (PORT); another
# port when that one is taken, five tries.
start_broker() {
  local i
  for _ in 1 2 3 4 5; do
    PORT=$((20000 + RANDOM % 30000))
    printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$PORT" >"$dir/mosquitto.conf"
    "$MOSQ" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
    mpid=$!
    # "running" comes after the listener is bound; a taken port ends the broker
    for ((i = 0; i < 50; i++)); do
      grep -q 'mosquitto version .* running' "$dir/mosquitto.log" && return 0
      kill -0 "$mpid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$mpid" 2>/dev/null || true
    wait "$mpid" 2>/dev/null || true
    mpid=
  done
  echo "demo-gateway: Mosquitto did not start (5 ports tried):" >&2
  tail -n 5 "$dir/mosquitto.log" >&2
  return 1
}

# broker_tally: per topic seen at the broker, the count and the last payload
# (a 24-byte reading as its value, anything else as text).
broker_tally() {
  awk '
    function hexval(s,   i, v) {
      v = 0
      for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return v
    }
    # the little-endian double at bytes 8..15 of a reading
    function reading_value(h,   be, i, top, e, m) {
      be = ""
      for (i = 15; i >= 8; i--) be = be substr(h, 2 * i + 1, 2)
      top = hexval(substr(be, 1, 3)); m = hexval(substr(be, 4))
      e = top % 2048
      if (e == 2047) return "nan"
      return sprintf("%.2f", (top >= 2048 ? -1 : 1) * (e ? 1 + m / 2^52 : m / 2^52) * 2^(e ? e - 1023 : -1022))
    }
    function text(h,   i, s) {
      s = ""
      for (i = 1; i < length(h); i += 2) s = s sprintf("%c", hexval(substr(h, i, 2)))
      gsub(/\n/, "|", s)
      return length(s) > 60 ? substr(s, 1, 57) "..." : s
    }
    NF >= 1 {
      if (!($1 in n)) order[k++] = $1
      n[$1]++
      last[$1] = length($2) == 48 ? reading_value($2) : text($2)
    }
    END {
      if (k == 0) print "    (nothing yet)"
      for (i = 0; i < k; i++) printf "    %-22s %5d  last %s\n", order[i], n[order[i]], last[order[i]]
    }' "$dir/broker.txt"
}

if [ "$MQTT" = 1 ]; then
  start_broker
  jq --argjson port "$PORT" '. + { broker: { host: "127.0.0.1", port: $port, client_id: "graftd-demo",
       export: ["avg/#", "alarms/#", "alerts/#", "conv/#", "status/#"], import: ["control/#"] } }' \
    "$SRC/examples/gateway/gateway.json" >"$dir/config.json"
  : >"$dir/broker.txt"
  mosquitto_sub -h 127.0.0.1 -p "$PORT" -i demo-watch -F '%t %x' \
    -t 'avg/#' -t 'alarms/#' -t 'alerts/#' -t 'status/#' >"$dir/broker.txt" 2>"$dir/sub.err" &
  spid=$!
  wait_log "$dir/mosquitto.log" ' as demo-watch ' 50 || { echo "demo-gateway: mosquitto_sub did not connect" >&2; exit 1; }
  printf '\n\033[1m== graftd over Mosquitto: the gateway on simulated sensors (%s s)\033[0m\n' "$SECONDS_TOTAL"
  echo "   broker:   mosquitto on 127.0.0.1:$PORT; graftd exports avg/# alarms/# alerts/# conv/# status/#,"
  echo "             imports control/#"
  echo "   watching: mosquitto_sub -h 127.0.0.1 -p $PORT -F '%t %x' -t 'avg/#' -t 'alarms/#' -t 'alerts/#' -t 'status/#'"
  echo "             (payloads in hex: readings are decoded to their value below, text is shown as text)"
else
  printf '\n\033[1m== graftd: the gateway on simulated sensors (%s s)\033[0m\n' "$SECONDS_TOTAL"
fi
echo "   pipeline: sensors/+ -> moving_average -> avg/+;  avg/temp1 -> threshold_alarm (30/28 degC) -> alarms/temp1"
echo "             sensors/+ -> unit_converter -> conv/+/+;  sensors/+ -> rule_engine -> alerts/#"

start=$SECONDS
if [ "$MQTT" = 0 ]; then
  : >"$dir/inject.txt"
  (cd "$dir" && exec "$B/graftd" --config config.json --log-level warn --summary-every 2 --summary-text \
     --inject inject.txt) 2>"$dir/graftd.log" &
  pid=$!
  sleep 1
  echo "   (1 s) setting rule_engine's rules by a message on control/rule_engine:"
  echo "         temp1 > 31 alerts/temp1/hot;  humidity < 40 alerts/humidity/dry"
  echo "control/rule_engine $RULES" >>"$dir/inject.txt"
  end=$((start + SECONDS_TOTAL))
  while [ $SECONDS -lt $end ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
else
  # graftd's summary goes to a file and is printed here with the broker's
  # view after it, so the two never interleave mid-line.
  : >"$dir/summary.txt"
  (cd "$dir" && exec "$B/graftd" --config config.json --log-level warn --summary-every 2 --summary-text) \
    >"$dir/summary.txt" 2>"$dir/graftd.log" &
  pid=$!
  wait_log "$dir/mosquitto.log" ' as graftd-demo ' 100 || { echo "demo-gateway: graftd did not connect to the broker" >&2; tail -n 5 "$dir/graftd.log" >&2; exit 1; }
  sleep 1
  echo "   ($((SECONDS - start)) s) from outside, rule_engine's new rules on control/rule_engine:"
  echo "         mosquitto_pub -h 127.0.0.1 -p $PORT -t control/rule_engine -m '$RULES'"
  # QoS 0: should the bridge's subscription not be in place yet, the first
  # message is lost; the acknowledgement on status/rule_engine says.
  for _ in 1 2 3; do
    mosquitto_pub -h 127.0.0.1 -p "$PORT" -i demo-control -t control/rule_engine -m "$(printf '%b' "$RULES")"
    if wait_log "$dir/broker.txt" '^status/rule_engine ' 20; then break; fi
    echo "         (no acknowledgement on status/rule_engine yet; sending again)"
  done
  printed=0
  end=$((start + SECONDS_TOTAL))
  next=$((SECONDS + 2))
  while [ $SECONDS -lt $end ] && kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    [ $SECONDS -ge $next ] || continue
    next=$((SECONDS + 2))
    total=$(wc -l <"$dir/summary.txt")
    if [ "$total" -gt "$printed" ]; then sed -n "$((printed + 1)),${total}p" "$dir/summary.txt"; printed=$total; fi
    echo "  at the broker (mosquitto_sub): topic, messages, last payload"
    broker_tally
  done
fi

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
if [ "$rc" -ne 0 ]; then
  echo "demo-gateway: graftd exited with status $rc" >&2
  tail -n 20 "$dir/graftd.log" >&2
  exit 1
fi
if [ "$MQTT" = 1 ]; then
  # what graftd sent while stopping still reaches the subscriber
  sleep 0.5
  kill -TERM "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  spid=
  kill -TERM "$mpid" 2>/dev/null || true
  wait "$mpid" 2>/dev/null || true
  mpid=
  total=$(wc -l <"$dir/summary.txt")
  if [ "$total" -gt "$printed" ]; then sed -n "$((printed + 1)),${total}p" "$dir/summary.txt"; fi
  echo "  at the broker (mosquitto_sub), final: topic, messages, last payload"
  broker_tally
  echo "   at the broker in all: $(wc -l <"$dir/broker.txt") messages;" \
    "$(cut -d/ -f1 "$dir/broker.txt" | sort | uniq -c | awk '{ printf "%s/ %d  ", $2, $1 }')"
  echo "   alerts that the rules sent by mosquitto_pub raised, at the broker: $(grep -c '^alerts/' "$dir/broker.txt" || true)"
fi
echo "   graftd stopped on SIGTERM (exit 0); warnings and errors it logged:"
grep -E '"level":"(warn|error)"' "$dir/graftd.log" | head -n 5 | sed 's/^/   /' || echo "   (none)"
