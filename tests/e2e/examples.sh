#!/usr/bin/env bash
# examples.sh BUILD_DIR SOURCE_DIR - runs every example program twice, as
# wasm32-wasi under `graft run` and as the native build of the same
# source, with the same arguments, stdin, environment and files, and
# compares stdout, stderr (where the two libcs print the same thing) and
# the exit status byte for byte. The examples are built first
# (examples/build.sh, incremental). Prints "N passed, N failed".
. "$(dirname "$0")/harness.bash" "$@"

build_examples

# Inputs shared by both runs. data/ is preopened read-only under graft and
# is the native run's working-directory subfolder, so "data/x" names the
# same file for both.
mkdir -p "$WORK/data"
awk 'BEGIN { for (i = 0; i < 5000; i++)
  printf "row %d: value %d, minus %d; the quick brown fox %s\n", i, i * 37 % 1001, -i,
         (i % 7 == 0) ? "JUMPS over the lazy dog again and again and again" : "" }' \
  > "$WORK/input.txt"
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "%.3f\n", (i * 7919 % 10007) / 7.0 - 500 }' \
  > "$WORK/data/numbers.txt"
printf 'alpha beta\ngamma 12 delta -5\n\nno newline at end 3.5' > "$WORK/data/text.txt"
head -c 300000 /dev/zero | tr '\0' 'x' > "$WORK/data/big.txt"

# compare NAME WHAT [--stdin F] [graft flags...] -- PROGRAM [ARGS...]
#   WHAT: all (stdout, stderr, status), out (stdout, status), status.
# Native: $EXAMPLES/PROGRAM.native ARGS in $WORK with the host's env
# replaced by the --env pairs; wasm: graft run FLAGS PROGRAM.wasm ARGS.
compare() {
  local name=$1 what=$2 stdin=/dev/null
  shift 2
  if [ "$1" == "--stdin" ]; then stdin=$2; shift 2; fi
  local flags=() envs=()
  while [ "$1" != "--" ]; do
    flags+=("$1")
    if [ "$1" == "--env" ]; then envs+=("$2"); fi
    if [ "$1" == "--env" ] || [ "$1" == "--dir" ]; then flags+=("$2"); shift; fi
    shift
  done
  shift
  local prog=$1
  shift
  run "$name.native" --stdin "$stdin" env -i "${envs[@]}" "$EXAMPLES/$prog.native" "$@"
  local native_rc=$RC
  run "$name.wasm" --stdin "$stdin" "$GRAFT" run "${flags[@]}" "$EXAMPLES/$prog.wasm" "$@"
  local wasm_rc=$RC
  local bad=()
  [ "$native_rc" == "$wasm_rc" ] || bad+=("exit status: native $native_rc, graft $wasm_rc")
  if [ "$what" != status ] && ! cmp -s "$WORK/$name.native.out" "$WORK/$name.wasm.out"; then
    bad+=("stdout differs ($(wc -c < "$WORK/$name.native.out") vs $(wc -c < "$WORK/$name.wasm.out") bytes):")
    bad+=("$(diff "$WORK/$name.native.out" "$WORK/$name.wasm.out" | head -n 8)")
  fi
  if [ "$what" == all ] && ! cmp -s "$WORK/$name.native.err" "$WORK/$name.wasm.err"; then
    bad+=("stderr differs:" "$(diff "$WORK/$name.native.err" "$WORK/$name.wasm.err" | head -n 8)")
  fi
  if [ ${#bad[@]} -eq 0 ]; then
    pass
  else
    if [ "$wasm_rc" != "$native_rc" ] && [ -s "$WORK/$name.wasm.err" ]; then
      bad+=("graft's stderr: $(head -c 400 "$WORK/$name.wasm.err")")
    fi
    fail "$name ($prog)" "${bad[@]}"
  fi
}

RO=(--dir "$WORK/data:data:ro")

# C programs
compare floats all -- floats
compare allocs all -- allocs
compare stdin_stats all --stdin "$WORK/input.txt" -- stdin_stats
compare stdin_empty all -- stdin_stats
compare readfile all "${RO[@]}" -- readfile data/numbers.txt data/text.txt data/big.txt
compare readfile_missing status "${RO[@]}" -- readfile data/no-such-file.txt
compare bigout all -- bigout
compare bigout_small all -- bigout 3
compare exit3 all -- exitcode
compare exit0 all -- exitcode 0
compare exit42_return all -- exitcode 42 return
compare exit125 all -- exitcode 125
compare abort out -- abort
compare args all --env GREETING=hello --env "EMPTY=" --env "SPACED=a b  c" -- \
  args one "two words" "" "ünïcödé" '$GREETING' '$EMPTY' '$SPACED' '$HOME'
compare args_none all -- args

# Rust programs
compare wordcount all --stdin "$WORK/input.txt" -- wordcount
compare wordcount_top3 all --stdin "$WORK/data/text.txt" -- wordcount --top 3
compare wordcount_badflag all -- wordcount --frob
compare crunch all "${RO[@]}" -- crunch data/numbers.txt data/text.txt
compare crunch_missing all "${RO[@]}" -- crunch data/absent.txt

# Output through a pipe rather than a file: graft's writes to a pipe that
# fills up must be complete, in order.
(cd "$WORK" && timeout 60 "$GRAFT" run "$EXAMPLES/bigout.wasm" 2>/dev/null | cat > bigout.pipe.out)
check_eq "bigout through a pipe: exit status" "$?" 0
if cmp -s "$WORK/bigout.pipe.out" "$WORK/bigout.native.out"; then pass; else
  fail "bigout through a pipe: stdout differs from the native run's"
fi

# A reader that goes away early: graft, like the native program, dies of
# SIGPIPE on the next write (status 141), having passed the first line on.
for side in native wasm; do
  if [ $side == native ]; then cmd=("$EXAMPLES/bigout.native"); else
    cmd=("$GRAFT" run "$EXAMPLES/bigout.wasm"); fi
  first=$(cd "$WORK" && timeout 60 "${cmd[@]}" 2>/dev/null | head -n 1; exit "${PIPESTATUS[0]}")
  check_eq "bigout ($side) into a closed pipe: exit status" "$?" 141
  check_eq "bigout ($side) into a closed pipe: first line" "$first" \
    "line 000000: the quick brown fox jumps over the lazy dog 0"
done

# Input from a pipe rather than a file: reads return short counts and the
# end comes only when the writer closes.
(cd "$WORK" && cat input.txt | timeout 60 "$GRAFT" run "$EXAMPLES/stdin_stats.wasm" \
  > stdin.pipe.out 2>&1)
check_eq "stdin_stats from a pipe: exit status" "$?" 0
if cmp -s "$WORK/stdin.pipe.out" "$WORK/stdin_stats.native.out"; then pass; else
  fail "stdin_stats from a pipe: stdout differs from the native run's"
fi

finish
