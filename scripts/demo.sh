#!/usr/bin/env bash
# demo.sh BUILD_DIR - the main job, for now: example guests compiled from C
# and Rust to wasm32-wasi and run by `graft run` on the engine's default
# limits, next to the same programs built natively. Later issues grow this
# into the gateway story (graftd with MQTT pipelines).
set -eu
B="${1:-build}"
G="$B/graft"
EX="$B/examples"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "graft inspect $EX/floats.wasm (a C program built with wasi-libc)"
"$G" inspect "$EX/floats.wasm" | head -n 20

say "graft run floats.wasm: printf of floats and 64-bit integers"
"$G" run "$EX/floats.wasm" | head -n 12

say "graft run --dir: reading a file from a read-only preopened directory"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
seq 1 1000 > "$data/numbers.txt"
"$G" run --dir "$data:data:ro" "$EX/readfile.wasm" data/numbers.txt
say "the same program built natively"
(cd "$data/.." && "$OLDPWD/$EX/readfile.native" "$(basename "$data")/numbers.txt") | sed "s|$(basename "$data")|data|"

say "graft run: the sandbox refuses a path that escapes the preopen"
"$G" run --dir "$data:data:ro" "$EX/readfile.wasm" data/../../etc/passwd || echo "(exit status $?, as expected)"

say "graft run crunch.wasm (Rust std, built with Debian's rustc for wasm32-wasi)"
"$G" run --dir "$data:data:ro" "$EX/crunch.wasm" data/numbers.txt 2>&1 | head -n 12

say "graft run exitcode.wasm 7: the guest's proc_exit code becomes graft's exit status"
set +e
"$G" run "$EX/exitcode.wasm" 7
status=$?
echo
echo "exit status: $status"
set -e
say "demo done"
