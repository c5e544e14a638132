#!/usr/bin/env bash
# diff.sh HARNESS SEED COUNT [SECONDS] - differential fuzzing of Graft against
# binaryen's interpreter (issue 3, section 6).
# diff.sh HARNESS --replay DIR - the same check on every DIR/*.hex input (the
# kept reproducers: input bytes as `xxd -p` hex; see DIR/README.md).
#
# For each i in 0..COUNT-1 (or until SECONDS have passed, when given and not
# 0): graft-fuzz-exec --bytes SEED+i makes the random input, `wasm-opt -ttf`
# turns it into a valid module restricted to the features Graft supports
# (WebAssembly 2.0 without SIMD) and runs its exports (--fuzz-exec-before),
# then graft-fuzz-exec runs the same module and compares. The same SEED and
# COUNT always give the same modules with the same binaryen.
#
# Divergent inputs are kept in $DIFF_OUT (default build dir/fuzz-diff-out) as
# SEED.dat, SEED.wasm, SEED.ref and SEED.graft. The last line is
# "N passed, N failed" (skips are counted on the line before it).
set -uo pipefail
harness="$1"; seed="$2"; count="${3:-0}"; seconds="${4:-0}"
out="${DIFF_OUT:-$(dirname "$harness")/fuzz-diff-out}"
FEATURES=(--mvp-features --enable-sign-ext --enable-nontrapping-float-to-int
          --enable-multivalue --enable-bulk-memory
          --enable-mutable-globals)
command -v wasm-opt >/dev/null || { echo "diff.sh: wasm-opt (binaryen) not installed"; exit 1; }
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
passed=0; failed=0; skipped=0; calls=0; values=0; traps=0; nans=0; start=$SECONDS

# Run one input (seed number, or hex file); add its counters; keep the
# inputs when it diverges.
one() {
    local s="$1" status line
    if [[ -f "$s" ]]; then
        xxd -r -p "$s" > "$work/in.dat"; s=$(basename "$s" .hex)
    else
        "$harness" --bytes "$s" > "$work/in.dat"
    fi
    # --denan: filter F3 in diff-filters.md (NaN bits that reach memory).
    if ! wasm-opt "${FEATURES[@]}" -ttf "$work/in.dat" --denan -o "$work/m.wasm" \
            2> "$work/ref.err" ||
       ! wasm-opt "${FEATURES[@]}" "$work/m.wasm" --fuzz-exec-before \
            > "$work/ref.txt" 2>> "$work/ref.err"; then
        echo "seed $s: wasm-opt failed: $(head -c 300 "$work/ref.err")"
        failed=$((failed + 1)); return
    fi
    "$harness" "$work/m.wasm" "$work/ref.txt" > "$work/graft.txt" 2>&1
    status=$?
    line=$(tail -n 1 "$work/graft.txt")
    if [[ "$line" =~ calls=([0-9]+)\ values=([0-9]+)\ traps=([0-9]+)\ nan=([0-9]+) ]]; then
        calls=$((calls + BASH_REMATCH[1])); values=$((values + BASH_REMATCH[2]))
        traps=$((traps + BASH_REMATCH[3])); nans=$((nans + BASH_REMATCH[4]))
    fi
    case $status in
        0) passed=$((passed + 1)) ;;
        2) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1))
           cp "$work/in.dat" "$out/$s.dat"; cp "$work/m.wasm" "$out/$s.wasm"
           cp "$work/ref.txt" "$out/$s.ref"; cp "$work/graft.txt" "$out/$s.graft"
           echo "seed $s: status $status (kept in $out/$s.*)"
           grep -A2 '^DIVERGE\|^load\|^instantiate' "$work/graft.txt" | head -n 3 ;;
    esac
}

if [[ "$seed" == --replay ]]; then
    for f in "$count"/*.hex; do one "$f"; done
else
    for ((i = 0; i < count; i++)); do
        one $((seed + i))
        if ((seconds > 0 && SECONDS - start >= seconds)); then break; fi
    done
fi
echo "modules $((passed + failed + skipped)): calls=$calls values=$values traps=$traps" \
     "nan-normalised=$nans skipped=$skipped"
echo "$passed passed, $failed failed"
((failed == 0))
