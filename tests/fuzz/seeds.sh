#!/usr/bin/env bash
# seeds.sh SPECTEST_DIR - print the seed corpus directory: the binary
# modules of the core suite, gathered (by symlink) into one folder.
set -euo pipefail
spec="$1"
dir="${TMPDIR:-/tmp}/graft-fuzz-seeds"
if [ ! -d "$dir" ]; then
  mkdir -p "$dir"
  find "$spec/core" -name '*.wasm' -size -64k | while read -r f; do
    ln -sf "$f" "$dir/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
fi
echo "$dir"
