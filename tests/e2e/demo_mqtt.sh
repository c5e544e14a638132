#!/usr/bin/env bash
# demo_mqtt.sh BUILD_DIR SOURCE_DIR - the demo over Mosquitto (`make
# demo-mqtt`, scripts/demo-gateway.sh --mqtt) in its short form
# (DEMO_SECONDS=6), judged by what the broker carried, not by what the
# script prints: the script keeps its work directory (DEMO_DIR) with the
# subscriber's capture (broker.txt: "TOPIC HEXPAYLOAD" per message),
# Mosquitto's log, graftd's log and its kv state.
#
# Checked: the script exits 0 and says graftd stopped on SIGTERM; averages
# of all three sensors reached the broker as 24-byte readings whose values
# lie in their sensor's range; the rules sent by mosquitto_pub (a client of
# the broker, not graftd's --inject) were acknowledged on
# status/rule_engine, stored in rule_engine's kv, and raised
# alerts/temp1/hot at the broker, each with temp1 above 31 and none before
# the acknowledgement; graftd logged no warning or error; the broker and
# the subscriber are gone afterwards.
. "$(dirname "$0")/harness.bash" "$@"

[ -x "$BUILD/graftd" ] || abort "no graftd at $BUILD/graftd"
[ -f "$BUILD/examples/modules/rule_engine.wasm" ] || abort "no example modules (build the 'examples' target first)"
for tool in /usr/sbin/mosquitto mosquitto_sub mosquitto_pub jq sqlite3; do
  command -v "$tool" >/dev/null || abort "$tool is needed (scripts/install-deps.sh)"
done

D="$WORK/demo"
run demo env DEMO_DIR="$D" DEMO_SECONDS=6 bash "$SRC/scripts/demo-gateway.sh" --mqtt "$BUILD"
check_rc demo 0
check_grep demo out 'graftd stopped on SIGTERM \(exit 0\)'
check_grep demo out '^   broker: +mosquitto on 127\.0\.0\.1:[0-9]+'
[ -s "$D/broker.txt" ] || abort "the subscriber at the broker received nothing" "$(tail -n 5 "$WORK/demo.err")"

# decode: the capture as "TOPIC VALUE" for readings (24 bytes: the
# little-endian double at bytes 8..15) and "TOPIC TEXT" for the rest.
decode() {
  awk '
    function hexval(s,   i, v) {
      v = 0
      for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return v
    }
    {
      if (length($2) == 48) {
        be = ""
        for (i = 15; i >= 8; i--) be = be substr($2, 2 * i + 1, 2)
        top = hexval(substr(be, 1, 3)); m = hexval(substr(be, 4)); e = top % 2048
        if (e == 2047 || e == 0) { print $1, "not-a-number"; next }
        printf "%s %.6f\n", $1, (top >= 2048 ? -1 : 1) * (1 + m / 2^52) * 2^(e - 1023)
      } else {
        s = ""
        for (i = 1; i < length($2); i += 2) s = s sprintf("%c", hexval(substr($2, i, 2)))
        gsub(/\n/, "|", s)
        print $1, s
      }
    }' "$D/broker.txt"
}
decode >"$WORK/broker.decoded"

# Averages at the broker, in range: temp1 is a sine 27 +- 6, humidity a
# walk clamped to 20..80, pressure steps between 99500 and 101200.
check_avg() {   # check_avg SENSOR LOW HIGH MIN_COUNT
  local got
  got=$(awk -v t="avg/$1" -v lo="$2" -v hi="$3" '$1 == t { n++; if (!($2 ~ /^-?[0-9]+\.[0-9]+$/) || $2 < lo || $2 > hi) bad = bad " " $2 }
        END { printf "%d%s", n, bad ? " out of range:" bad : "" }' "$WORK/broker.decoded")
  if [ "${got%% *}" -ge "$4" ] && [ "$got" = "${got%% *}" ]; then pass
  else fail "avg/$1 at the broker: at least $4 readings, values in [$2, $3]" "got: $got"; fi
}
check_avg temp1 21 33 4
check_avg humidity 20 80 2
check_avg pressure 99500 101200 1

# The rules came from outside: mosquitto_pub's client at the broker, the
# acknowledgement, the rules in kv, and their alerts.
grep -qE 'New client connected from .* as demo-control ' "$D/mosquitto.log" \
  && pass || fail "mosquitto_pub (client demo-control) connected to the broker" "$(grep -c 'New client' "$D/mosquitto.log") clients"
[ ! -s "$D/inject.txt" ] && pass || fail "the --mqtt demo sends no rules through graftd's --inject file" "$(head -c 200 "$D/inject.txt")"
grep -qx 'status/rule_engine ok 2 rules' "$WORK/broker.decoded" \
  && pass || fail "rule_engine acknowledged 2 rules on status/rule_engine, seen at the broker" "$(grep '^status/' "$WORK/broker.decoded" | head -3)"
rules=$(sqlite3 "$D/state/kv.sqlite" "select cast(value as text) from kv where module='rule_engine' and cast(key as text)='rules'" 2>&1)
check_eq "rule_engine's rules in kv are those sent by mosquitto_pub" "$rules" "$(printf 'temp1 > 31 alerts/temp1/hot\nhumidity < 40 alerts/humidity/dry')"
alerts=$(awk '/^status\/rule_engine / && !ack { ack = NR } /^alerts\// { n++; if (!ack) early++ }
              /^alerts\/temp1\/hot / { hot++; v = $2; sub(/.*"value":/, "", v); sub(/[,}].*/, "", v); if (!(v + 0 > 31)) bad = bad " " v }
              END { printf "%d alerts, %d hot, %d before the ack%s", n, hot, early, bad ? ", hot at" bad : "" }' "$WORK/broker.decoded")
if [[ "$alerts" =~ ^[0-9]+\ alerts,\ ([0-9]+)\ hot,\ 0\ before\ the\ ack$ ]] && [ "${BASH_REMATCH[1]}" -ge 1 ]; then pass
else fail "the rules raised alerts/temp1/hot at the broker, each above 31, none before the acknowledgement" "$alerts"; fi

# graftd ran clean.
if grep -qE '"level":"(warn|error)"' "$D/graftd.log"; then
  fail "graftd logged no warning or error" "$(grep -E '"level":"(warn|error)"' "$D/graftd.log" | head -3)"
else pass; fi

# Nothing left running: the broker on its config, the subscriber on its port.
port=$(sed -n 's/^listener \([0-9]*\) .*/\1/p' "$D/mosquitto.conf")
if pgrep -f -- "$D/mosquitto.conf" >/dev/null || pgrep -f -- "mosquitto_sub -h 127.0.0.1 -p $port " >/dev/null; then
  fail "the broker and the subscriber are stopped when the demo ends" "$(pgrep -af -- "$port")"
else pass; fi

finish
