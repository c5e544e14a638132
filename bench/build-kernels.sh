#!/usr/bin/env bash
# build-kernels.sh OUT_DIR - compile every kernel in bench/kernels/ (and the
# start-up probe hello.c) twice: natively with gcc -O2 into OUT_DIR/native/
# and to wasm32-wasi with clang -O2 into OUT_DIR/wasm/. Used by bench/run
# and by the ctest tests/e2e/bench_kernels.sh.
#
# The wasm link step deliberately has no -O flag: Debian's clang 14 runs
# /usr/bin/wasm-opt on the linked module by itself whenever binaryen is
# installed and -O is on the link line, so the module would differ between
# machines. Compiling with -O2 (-c) and linking without -O gives the same
# bytes with or without binaryen. --strip-debug drops the DWARF that
# Debian's libc.a carries (it is not code and graft would only skip it).
# No -m feature flags: clang 14's default CPU is the MVP feature set.
set -euo pipefail
out=${1:?usage: build-kernels.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/native" "$out/wasm" "$out/obj"

CC_NATIVE=${CC_NATIVE:-gcc}
CC_WASM=${CC_WASM:-clang}

build_one() {  # build_one NAME SOURCE
  local name=$1 src=$2
  if [ ! "$out/native/$name" -nt "$src" ] || [ "$here/kernels/kernel.h" -nt "$out/native/$name" ]; then
    "$CC_NATIVE" -O2 -o "$out/native/$name" "$src" -lm
  fi
  if [ ! "$out/wasm/$name.wasm" -nt "$src" ] || [ "$here/kernels/kernel.h" -nt "$out/wasm/$name.wasm" ]; then
    "$CC_WASM" --target=wasm32-wasi -O2 -c -o "$out/obj/$name.o" "$src"
    "$CC_WASM" --target=wasm32-wasi -Wl,--strip-debug -o "$out/wasm/$name.wasm" "$out/obj/$name.o" -lm
  fi
}

for src in "$here"/kernels/*.c; do
  build_one "$(basename "$src" .c)" "$src"
done
