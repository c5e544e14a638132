#!/usr/bin/env bash
# build.sh OUTDIR - builds the gateway's example modules from source:
#   c/NAME.c      -> OUTDIR/NAME.wasm, a wasi-libc reactor (-mexec-model=reactor)
#                    against sdk/c/graft_iot.h
#   rust/ (cargo workspace, when present) -> OUTDIR/NAME.wasm for each member,
#                    no_std against sdk/rust, built offline with Debian's
#                    cargo and rustc for wasm32-unknown-unknown
# Each module's manifest (NAME.json beside its source) is copied next to it.
# Called by examples/build.sh; no .wasm is committed.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: examples/modules/build.sh OUTDIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
WASM_CC=${WASM_CC:-clang}
CARGO=${CARGO:-/usr/bin/cargo}
RUSTC=${RUSTC:-/usr/bin/rustc}

# Outputs are written beside their final name and renamed into place, so a
# test reading a module while another test rebuilds it never sees half a file.
put() { cp -p "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"; }

shopt -s nullglob
for src in "$HERE"/c/*.c; do
  name=$(basename "$src" .c)
  if [ "$OUT/$name.wasm" -nt "$src" ] && [ "$OUT/$name.wasm" -nt "$ROOT/sdk/c/graft_iot.h" ]; then
    continue
  fi
  # Compile and link separately, without -O on the link line, so clang does
  # not run wasm-opt by itself (see ../shared/toolchains/README.md).
  "$WASM_CC" --target=wasm32-wasi -std=c11 -O2 -Wall -Wextra -Werror \
    -I"$ROOT/sdk/c" -c -o "$OUT/$name.o" "$src"
  "$WASM_CC" --target=wasm32-wasi -mexec-model=reactor -o "$OUT/$name.wasm.tmp.$$" "$OUT/$name.o"
  mv -f "$OUT/$name.wasm.tmp.$$" "$OUT/$name.wasm"
  rm -f "$OUT/$name.o"
  if [ -f "$HERE/c/$name.json" ]; then put "$HERE/c/$name.json" "$OUT/$name.json"; fi
done

if [ -f "$HERE/rust/Cargo.toml" ]; then
  (cd "$HERE/rust" && env RUSTC="$RUSTC" CARGO_TARGET_DIR="$OUT/rust-target" \
    "$CARGO" build --quiet --offline --locked --release --target wasm32-unknown-unknown)
  for wasm in "$OUT"/rust-target/wasm32-unknown-unknown/release/*.wasm; do
    name=$(basename "$wasm" .wasm)
    put "$wasm" "$OUT/$name.wasm"
    for m in "$HERE"/rust/*/"$name.json"; do put "$m" "$OUT/$name.json"; done
  done
fi
echo "modules: $(ls "$OUT"/*.wasm 2>/dev/null | wc -l) example modules in $OUT"
