#!/usr/bin/env bash
# run.sh GRAFT TESTSUITE_DIR [SUITE...] - runs the official WASI preview 1
# test suite (WebAssembly/wasi-testsuite, prebuilt; kept outside the
# repository, see its README) through `graft run`.
#
# Each SUITE is a folder of TESTSUITE_DIR (c, rust, assemblyscript; all
# three when none is named). A test is NAME.wasm with an optional NAME.json:
# args, env, root (a folder beside the test, preopened as "/"), exit_code
# (default 0) and stdout (exact, checked when given). Because tests create,
# rename and remove entries, every test runs on a fresh copy of its suite's
# *.dir folders in a temporary directory, made writable (the suite is
# read-only), and removed afterwards.
#
# tests/wasi/expected-failures.txt may name tests that contradict the WASI
# preview 1 specification itself (one per line, with the reason); such a
# test failing counts as expected, and passing is reported so that the line
# is removed. Prints a line per failure, "wasi-testsuite SUITE: N passed, N
# failed" per suite and a total; exits 1 on any failure, 2 on bad usage.
set -u

usage() {
  echo "usage: run.sh GRAFT TESTSUITE_DIR [SUITE...]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
# Absolute, because each test runs from its own scratch directory.
GRAFT=$(realpath -e "$1") || usage
SUITE_DIR=$(realpath -e "$2") || usage
shift 2
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(c rust assemblyscript)
[ -x "$GRAFT" ] || { echo "run.sh: $GRAFT is not an executable" >&2; exit 2; }
[ -f "$SUITE_DIR/README.md" ] || { echo "run.sh: $SUITE_DIR is not the WASI test suite" >&2; exit 2; }
command -v jq >/dev/null || { echo "run.sh: jq is required (Debian package jq)" >&2; exit 2; }
XFAIL="$(dirname "$0")/expected-failures.txt"
TIMEOUT=${WASI_TEST_TIMEOUT:-120}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/graft-wasi-XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# Is suite/test in the expected-failure list? (First field of a line.)
expected_failure() {
  [ -f "$XFAIL" ] && grep -q "^$1 " "$XFAIL"
}

# run_test SUITE NAME: 0 when it passes; prints why when it does not.
run_test() {
  local dir="$SUITE_DIR/$1" name=$2 json="$SUITE_DIR/$1/$2.json" work="$SCRATCH/$1-$2"
  [ -f "$json" ] || json=/dev/null
  local spec
  spec=$(jq -c '.' "$json" 2>/dev/null) || { echo "  $1/$name: cannot parse $json"; return 1; }
  [ -n "$spec" ] || spec='{}'
  mkdir -p "$work"
  local d
  for d in "$dir"/*.dir; do
    [ -d "$d" ] && cp -R "$d" "$work/"
  done
  chmod -R u+w "$work"
  # @sh quotes every word for the shell, so arguments and values holding
  # quotes, spaces or newlines reach the guest unchanged.
  local flags=() args=()
  eval "args=($(jq -r '(.args // []) | map(@sh) | join(" ")' <<<"$spec"))"
  eval "flags=($(jq -r '(.env // {}) | to_entries | map("--env", "\(.key)=\(.value)" | @sh)
                        | join(" ")' <<<"$spec"))"
  local root
  root=$(jq -r '.root // empty' <<<"$spec")
  [ -z "$root" ] || flags+=(--dir "$work/$root:/")
  local want_rc
  want_rc=$(jq -r '.exit_code // 0' <<<"$spec")
  (cd "$work" && timeout "$TIMEOUT" "$GRAFT" run "${flags[@]}" "$dir/$name.wasm" "${args[@]}" \
     </dev/null >"$work.out" 2>"$work.err")
  local rc=$? ok=0
  if [ "$rc" != "$want_rc" ]; then
    echo "  $1/$name: exit status $rc, expected $want_rc"
    ok=1
  fi
  if [ "$(jq -r 'has("stdout")' <<<"$spec")" == true ]; then
    jq -j '.stdout' <<<"$spec" >"$work.want"
    if ! cmp -s "$work.want" "$work.out"; then
      echo "  $1/$name: stdout differs: expected $(jq -c '.stdout' <<<"$spec"), got" \
           "$(jq -Rsc '.' <"$work.out")"
      ok=1
    fi
  fi
  [ $ok -eq 0 ] || grep -v '^$' "$work.err" | head -5 | sed 's/^/    stderr: /'
  rm -rf "$work" "$work.out" "$work.err" "$work.want"
  return $ok
}

total_pass=0
total_fail=0
for suite in "${SUITES[@]}"; do
  [ -d "$SUITE_DIR/$suite" ] || { echo "run.sh: no suite $suite in $SUITE_DIR" >&2; exit 2; }
  pass=0
  fail=0
  xfail=0
  for wasm in "$SUITE_DIR/$suite"/*.wasm; do
    name=$(basename "$wasm" .wasm)
    if out=$(run_test "$suite" "$name"); then
      if expected_failure "$suite/$name"; then
        echo "  $suite/$name: passes but is listed in $XFAIL: remove its line"
        fail=$((fail + 1))
      else
        pass=$((pass + 1))
      fi
    elif expected_failure "$suite/$name"; then
      echo "  $suite/$name: expected failure (see $XFAIL)"
      xfail=$((xfail + 1))
    else
      printf '%s\n' "$out"
      fail=$((fail + 1))
    fi
  done
  extra=""
  [ $xfail -eq 0 ] || extra=", $xfail expected failures"
  echo "wasi-testsuite $suite: $pass passed, $fail failed$extra"
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
done
echo "wasi-testsuite total: $total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ]
