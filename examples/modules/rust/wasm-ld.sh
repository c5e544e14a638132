#!/bin/sh
# wasm-ld.sh - the linker for the example modules (.cargo/config.toml):
# rust-lld with the arguments rustc gives it, minus --export=__heap_base
# and --export=__data_end, which rustc 1.63 adds to every wasm32 cdylib.
# The module keeps the symbols (the SDK's heap starts at __heap_base); the
# agent just never sees them as exports. RUST_LLD overrides the linker.
LLD=${RUST_LLD:-}
if [ -z "$LLD" ]; then
  if [ -x /usr/bin/rust-lld ]; then LLD=/usr/bin/rust-lld; else LLD=rust-lld; fi
fi
for arg in "$@"; do
  shift
  case "$arg" in
    --export=__heap_base | --export=__data_end) ;;
    *) set -- "$@" "$arg" ;;
  esac
done
exec "$LLD" "$@"
