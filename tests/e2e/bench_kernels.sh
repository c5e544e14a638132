#!/usr/bin/env bash
# bench_kernels.sh BUILD_DIR SOURCE_DIR - every benchmark kernel in
# bench/kernels/ at its small size (bench/kernels/sizes) under `graft run`
# prints the same checksum as the same C compiled natively. The kernels are
# built by bench/build-kernels.sh (the benchmark runner's own build step)
# into BUILD_DIR/bench-kernels. Timing is bench/run's job, not this test's.
. "$(dirname "$0")/harness.bash" "$@"

KB="$BUILD/bench-kernels"
if ! bash "$SRC/bench/build-kernels.sh" "$KB" > "$WORK/build.log" 2>&1; then
  cat "$WORK/build.log" >&2
  abort "bench/build-kernels.sh failed (log above)"
fi

count=0
while read -r name _default small seed; do
  case "$name" in '#'* | '') continue ;; esac
  count=$((count + 1))
  run "native_$name" "$KB/native/$name" "$small" "$seed"
  check_rc "native_$name" 0
  check_grep "native_$name" out "^$name checksum=[0-9a-f]{16}$"
  run "graft_$name" "$GRAFT" run "$KB/wasm/$name.wasm" "$small" "$seed"
  check_rc "graft_$name" 0
  check_out "graft_$name" "$(cat "$WORK/native_$name.out")"
done < "$SRC/bench/kernels/sizes"
check_eq "kernels listed in bench/kernels/sizes" "$count" 11
finish
