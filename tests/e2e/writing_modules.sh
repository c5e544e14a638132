#!/usr/bin/env bash
# writing_modules.sh - runs docs/writing-modules.md as written, so the guide
# cannot go stale: each fenced block whose info string names a file
# (```c file=over_limit.c) is written to that file, and each ```sh block is
# run, in order, by one bash -e in a scratch directory with GRAFT_SRC set
# to the source tree and the build under test first on PATH (the guide's
# first block, which sets them for a reader, is skipped). Then the results
# the guide describes are checked: an alert over the limit, the limit
# raised through --inject, both modules validated, the Rust one doubling.
. "$(dirname "$0")/harness.bash" "$@"

GUIDE="$SRC/docs/writing-modules.md"
[ -x "$BUILD/graftd" ] || abort "no graftd at $BUILD/graftd"
command -v clang >/dev/null || abort "clang is needed (scripts/install-deps.sh)"
[ -x /usr/bin/cargo ] || abort "Debian's cargo is needed (scripts/install-deps.sh)"

G="$WORK/guide"
mkdir -p "$G"
# extract: files, and the shell blocks into one script (a block that
# exports GRAFT_SRC is the reader's setup: skipped here)
awk -v dir="$G" '
  /^```/ && !inblk {
    inblk = 1; file = ""; sh = ($0 ~ /^```sh *$/)
    if (match($0, /file=[^ ]+/)) { file = dir "/" substr($0, RSTART + 5, RLENGTH - 5); system("mkdir -p \"$(dirname \"" file "\")\""); printf "" > file }
    blk = ""; next
  }
  /^```/ && inblk {
    inblk = 0
    if (sh && blk !~ /export GRAFT_SRC/) printf "%s", blk >> (dir "/guide.sh")
    if (file != "") close(file)
    next
  }
  inblk { if (file != "") print > file; else if (sh) blk = blk $0 "\n" }
' "$GUIDE"
for f in over_limit.c over_limit.json device.json doubler/src/lib.rs doubler.json guide.sh; do
  [ -s "$G/$f" ] && pass || fail "the guide has $f"
done

export GRAFT_SRC="$SRC" PATH="$BUILD:$PATH"
run guide --cwd "$G" bash -e guide.sh
check_rc guide 0
[ "$RC" -eq 0 ] || echo "$(tail -20 "$WORK/guide.err")" >&2

# what the guide says happens
check_grep guide out '"topic":"alerts/temp1",.*temp1 at 35.00 is over 30.00'
check_eq "graft validate says ok for both modules" "$(grep -c '^ok$' "$WORK/guide.out")" 2
check_grep guide out '"topic":"twice/temp1".*"value":(50|70)[,}]'
grep -q '"msg":"limit set to 40: ok"' "$G/graftd.log" && pass || fail "the limit was set through --inject" "$(tail -3 "$G/graftd.log")"
grep -q '"level":"error"' "$G/graftd.log" "$G/graftd2.log" && fail "graftd logged errors" "$(grep -h error "$G"/graftd*.log | head -3)" || pass
# after the limit went to 40, no more alerts (35 is under it): the last
# alert was published before the "limit set" line
last_alert=$(grep -c '"topic":"alerts/temp1"' "$G/alerts.jsonl")
[ "$last_alert" -ge 1 ] && pass || fail "at least one alert"
# warnings from clang on the guide's compile lines
grep -q 'warning:' "$WORK/guide.err" && fail "the guide's build lines give warnings" "$(grep -m3 warning: "$WORK/guide.err")" || pass

finish
