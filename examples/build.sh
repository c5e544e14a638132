#!/usr/bin/env bash
# build.sh OUTDIR - builds every example program twice, for wasm32-wasi and
# for the host, into OUTDIR/NAME.wasm and OUTDIR/NAME.native. The e2e tests
# (tests/e2e/examples.sh) run each pair with the same input and compare.
#
#   examples/c/*.c      one program per file: clang --target=wasm32-wasi with
#                       Debian's wasi-libc, and the host's gcc
#   examples/rust/      a cargo workspace (wordcount, crunch) built offline
#                       with Debian's cargo + rustc 1.63, for wasm32-wasi
#                       and the host; its target dir is OUTDIR/rust-target
#
# CMake's `examples` target calls this (cmake --build BUILD --target examples
# writes BUILD/examples). It stops with a clear message, naming the Debian
# packages to install, when a toolchain is missing. Overrides: CC (host C
# compiler), WASM_CC (clang), CARGO and RUSTC (Debian's, in /usr/bin: the
# rustup ones have no wasm32 std).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: examples/build.sh OUTDIR" >&2
  exit 2
fi
SRC=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
CC=${CC:-gcc}
WASM_CC=${WASM_CC:-clang}
CARGO=${CARGO:-/usr/bin/cargo}
RUSTC=${RUSTC:-/usr/bin/rustc}
PKGS="clang lld wasi-libc libclang-rt-14-dev-wasm32 rustc cargo libstd-rust-dev-wasm32"

missing() {
  echo "examples/build.sh: $1" >&2
  echo "examples/build.sh: install the toolchains with:" >&2
  echo "  apt-get install -y --no-install-recommends $PKGS" >&2
  echo "  (or scripts/install-deps.sh; see ../shared/toolchains/README.md)" >&2
  exit 1
}

check_toolchains() {
  command -v "$CC" >/dev/null || missing "no host C compiler '$CC'"
  command -v "$WASM_CC" >/dev/null || missing "no '$WASM_CC' (clang) for wasm32-wasi"
  local probe="$OUT/.probe"
  mkdir -p "$probe"
  printf '#include <stdio.h>\nint main(void){puts("x");return 0;}\n' > "$probe/p.c"
  "$WASM_CC" --target=wasm32-wasi -o "$probe/p.wasm" "$probe/p.c" 2> "$probe/err" ||
    missing "'$WASM_CC --target=wasm32-wasi' cannot build a C program (wasi-libc, \
libclang-rt-14-dev-wasm32 or lld missing?): $(head -c 300 "$probe/err")"
  [ -x "$CARGO" ] || missing "no Debian cargo at $CARGO"
  [ -x "$RUSTC" ] || missing "no Debian rustc at $RUSTC"
  local sysroot
  sysroot=$("$RUSTC" --print sysroot)
  [ -d "$sysroot/lib/rustlib/wasm32-wasi" ] ||
    missing "$RUSTC has no wasm32-wasi standard library (libstd-rust-dev-wasm32)"
  rm -rf "$probe"
}

# NAME.c -> NAME.wasm and NAME.native, when the source is newer.
build_c() {
  local src=$1 name
  name=$(basename "$src" .c)
  if [ "$OUT/$name.wasm" -nt "$src" ] && [ "$OUT/$name.native" -nt "$src" ]; then
    return
  fi
  echo "  C     $name"
  # Compile with -O2 but link without -O: with binaryen installed clang 14
  # would otherwise run wasm-opt on the output, making it depend on that.
  "$WASM_CC" --target=wasm32-wasi -std=c11 -O2 -Wall -Wextra -Werror -c -o "$OUT/$name.o" "$src"
  "$WASM_CC" --target=wasm32-wasi -Wl,--strip-debug -o "$OUT/$name.wasm.tmp.$$" "$OUT/$name.o"
  mv -f "$OUT/$name.wasm.tmp.$$" "$OUT/$name.wasm"
  rm -f "$OUT/$name.o"
  "$CC" -std=c11 -O2 -Wall -Wextra -Werror -o "$OUT/$name.native.tmp.$$" "$src" -lm
  mv -f "$OUT/$name.native.tmp.$$" "$OUT/$name.native"
}

build_rust() {
  echo "  Rust  wordcount crunch"
  local cargo_env=(env RUSTC="$RUSTC" CARGO_TARGET_DIR="$OUT/rust-target")
  (cd "$SRC/rust" &&
    "${cargo_env[@]}" "$CARGO" build --quiet --offline --locked --release --target wasm32-wasi &&
    "${cargo_env[@]}" "$CARGO" build --quiet --offline --locked --release)
  for bin in wordcount crunch; do
    # Renamed into place: tests may be reading the previous copy right now.
    cp -p "$OUT/rust-target/wasm32-wasi/release/$bin.wasm" "$OUT/$bin.wasm.tmp.$$"
    mv -f "$OUT/$bin.wasm.tmp.$$" "$OUT/$bin.wasm"
    cp -p "$OUT/rust-target/release/$bin" "$OUT/$bin.native.tmp.$$"
    mv -f "$OUT/$bin.native.tmp.$$" "$OUT/$bin.native"
  done
}

check_toolchains
echo "examples: building into $OUT"
for src in "$SRC"/c/*.c; do
  build_c "$src"
done
build_rust
# The gateway's example modules (reactors against the SDKs).
bash "$SRC/modules/build.sh" "$OUT/modules"
echo "examples: $(ls "$OUT"/*.wasm | wc -l) wasm modules, $(ls "$OUT"/*.native | wc -l) native programs"
