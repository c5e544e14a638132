# harness.bash - shared by the end-to-end scripts (tests/e2e/*.sh; this file
# is not one of them, so ctest does not run it). Source it with the build
# and source directories as $1 and $2:
#
#   . "$(dirname "$0")/harness.bash" "$@"
#
# It sets GRAFT (the CLI under test), SRC, BUILD and WORK (a scratch
# directory removed on exit), counts checks with pass/fail, and `finish`
# prints the plain line "N passed, N failed" and exits non-zero on any
# failure. Every process a test starts goes through `run`, which bounds it
# with `timeout 60` and records stdout, stderr and exit status.

set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
GRAFT="$BUILD/graft"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/graft-e2e.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); }

# fail WHAT [DETAIL...]: count a failure and say what was expected.
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL: $1" >&2
  shift
  for line in "$@"; do echo "      $line" >&2; done
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}

# A failure that makes the rest pointless: count it and stop.
abort() {
  fail "$@"
  finish
}

[ -x "$GRAFT" ] || abort "no CLI at $GRAFT (build the 'graft' target first)"

# run NAME [--stdin FILE] [--cwd DIR] CMD...: run CMD under timeout 60 with
# stdin from FILE (default /dev/null) in DIR (default $WORK); leaves
# $WORK/NAME.out, $WORK/NAME.err and RC.
run() {
  local name=$1 input=/dev/null cwd=$WORK
  shift
  while :; do
    case "$1" in
      --stdin) input=$2; shift 2 ;;
      --cwd) cwd=$2; shift 2 ;;
      *) break ;;
    esac
  done
  # the subshell's own stderr is dropped: bash reports a child killed by a
  # signal ("Aborted") there, while the child's stderr goes to the file
  (cd "$cwd" && timeout 60 "$@" < "$input" > "$WORK/$name.out" 2> "$WORK/$name.err") 2>/dev/null
  RC=$?
  if [ "$RC" -eq 124 ]; then
    echo "note: $name timed out after 60 s" >&2
  fi
}

# check_eq WHAT ACTUAL EXPECTED
check_eq() {
  if [ "$2" == "$3" ]; then pass; else fail "$1" "expected: $3" "actual:   $2"; fi
}

# check_rc NAME EXPECTED: the exit status of the last run.
check_rc() {
  check_eq "$1: exit status" "$RC" "$2"
}

# check_out NAME EXPECTED_TEXT: the whole stdout of run NAME.
check_out() {
  check_eq "$1: stdout" "$(cat "$WORK/$1.out")" "$2"
}

# check_grep NAME out|err PATTERN: an extended regex matches a line.
check_grep() {
  if grep -Eq -- "$3" "$WORK/$1.$2"; then
    pass
  else
    fail "$1: std$2 has no line matching /$3/" "std$2 was: $(head -c 600 "$WORK/$1.$2")"
  fi
}

# Build the example programs into $BUILD/examples (incremental).
build_examples() {
  EXAMPLES="$BUILD/examples"
  if ! bash "$SRC/examples/build.sh" "$EXAMPLES" > "$WORK/examples-build.log" 2>&1; then
    cat "$WORK/examples-build.log" >&2
    abort "examples/build.sh failed (log above)"
  fi
}

# ---- graftd tests (graftd.sh, graftd_reload.sh) ----

# wait_for FILE PATTERN [SECONDS]: until grep -E finds PATTERN in FILE.
wait_for() {
  local i
  for ((i = 0; i < ${3:-20} * 20; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# values FILE TOPIC: the reading values on exactly TOPIC in a graftd
# --dump-file, in order.
values() { grep -F "\"topic\":\"$2\"" "$1" | sed -n 's/.*"value":\([^,}]*\).*/\1/p'; }

# graftd_up DIR SECONDS ARGS...: start $BUILD/graftd ARGS in DIR under
# `timeout -s KILL SECONDS`, stderr appended to DIR/err.log, and wait for
# its "up" line. Sets GPID (the timeout), GD (graftd itself: signals go to
# it) and PORT (its /metrics port; empty without http), adding both pids
# to the caller's PIDS array (killed by its EXIT trap).
graftd_up() {
  local dir=$1 secs=$2
  shift 2
  (cd "$dir" && exec timeout -s KILL "$secs" "$BUILD/graftd" "$@" 2>>err.log) &
  GPID=$!
  PIDS+=("$GPID")
  wait_for "$dir/err.log" '"msg":"graftd .* up:' 20 || abort "graftd did not come up" "$(tail -5 "$dir/err.log")"
  GD=$(pgrep -P "$GPID")
  PIDS+=("$GD")
  PORT=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$dir/err.log" | head -1)
}

# reload DIR: SIGHUP graftd ($GD) and wait for the next "reloaded" or
# "reload refused" line in DIR/err.log (RELOADS counts them).
RELOADS=0
reload_in() {
  RELOADS=$((RELOADS + 1))
  kill -HUP "$GD"
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(grep -cE '"msg":"(reloaded|reload refused)' "$1/err.log")" -ge "$RELOADS" ] && return 0
    sleep 0.05
  done
  fail "reload $RELOADS was not answered" "$(tail -3 "$1/err.log")"
}

# module NAME CAPS [LIMITS] [EXTRA]: $D/mods/NAME.wat (from stdin) ->
# NAME.wasm, its manifest requesting CAPS (with LIMITS), and a config entry
# granting the same appended to the caller's MODS array (EXTRA: more keys
# of the entry, such as "required": true).
module() {
  local name=$1 caps=$2 limits=${3:-} extra=${4:-}
  cat >"$D/mods/$name.wat"
  wat2wasm "$D/mods/$name.wat" -o "$D/mods/$name.wasm" || abort "wat2wasm $name.wat"
  printf '{ "manifest_version": 1, "name": "%s", "version": "1.0.0", "host_api": "iot_v1", "capabilities": { %s }%s }\n' \
    "$name" "$caps" "${limits:+, \"limits\": { $limits \}}" >"$D/mods/$name.json"
  MODS+=("{ \"name\": \"$name\", \"wasm\": \"$D/mods/$name.wasm\", \"grants\": { $caps }${extra:+, $extra} }")
}
