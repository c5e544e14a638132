#!/usr/bin/env bash
# run-fixed.sh FUZZER SPECTEST_DIR WORKDIR - the repeatable fuzz run that
# `make check` does: every seed module once, then a fixed number of
# mutations from a fixed random seed. Fails on any crash, leak or timeout.
set -euo pipefail
fuzzer="$1"; spec="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work/corpus"
seeds=$(bash "$(dirname "$0")/seeds.sh" "$spec")
"$fuzzer" -seed=1 -runs=50000 -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
          "$work/corpus" "$seeds" 2>&1 | tail -n 5
echo "1 passed, 0 failed"
