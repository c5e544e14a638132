#!/usr/bin/env bash
# rust_sdk.sh BUILD_DIR SOURCE_DIR - the Rust SDK's host-side unit tests:
# `cargo test` in sdk/rust (Reading encode/decode, topic filters, error
# codes, handler statuses, StrBuf, the heap's size classes), built offline
# with Debian's cargo and rustc into BUILD/rust-sdk-target. Registered as
# e2e/rust_sdk with the labels e2e and unit (cmake/tests.cmake).
. "$(dirname "$0")/harness.bash" "$@"

CARGO=${CARGO:-/usr/bin/cargo}
RUSTC=${RUSTC:-/usr/bin/rustc}
[ -x "$CARGO" ] && [ -x "$RUSTC" ] ||
  abort "no Debian cargo/rustc at $CARGO, $RUSTC (apt-get install rustc cargo)"

run cargo_test --cwd "$SRC/sdk/rust" env RUSTC="$RUSTC" CARGO_TARGET_DIR="$BUILD/rust-sdk-target" \
  "$CARGO" test --offline --locked
check_rc "cargo test in sdk/rust" 0
check_grep cargo_test out '^test result: ok\. [1-9][0-9]* passed; 0 failed'
if [ "$RC" -ne 0 ]; then
  tail -n 40 "$WORK/cargo_test.out" "$WORK/cargo_test.err" >&2
fi

# The SDK also builds for wasm32 on its own (no module around it).
run cargo_wasm --cwd "$SRC/sdk/rust" env RUSTC="$RUSTC" CARGO_TARGET_DIR="$BUILD/rust-sdk-target" \
  "$CARGO" build --offline --locked --release --target wasm32-unknown-unknown
check_rc "cargo build --target wasm32-unknown-unknown in sdk/rust" 0
[ "$RC" -eq 0 ] || tail -n 40 "$WORK/cargo_wasm.err" >&2

finish
