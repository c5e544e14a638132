#!/usr/bin/env bash
# mcu-check.sh OUTDIR - cross-compile libgraft for a Cortex-M4 with the bare
# port and check the properties firmware depends on:
#   1. it builds with arm-none-eabi-gcc -Os -mthumb -mcpu=cortex-m4;
#   2. the library references no malloc, free, realloc or calloc;
#   3. every symbol it defines globally starts with graft_;
#   4. a firmware image using the pool allocator links (newlib-nano, no
#      malloc pulled in: checked in the linked image's symbol table too).
# Prints the engine's .text size. Exits non-zero on any failure.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$SRC/build-mcu}"
mkdir -p "$OUT/obj"
CC=arm-none-eabi-gcc
CFLAGS=(-std=c11 -Os -mthumb -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16
        -ffunction-sections -fdata-sections -Wall -Wextra -Werror -Wno-unused-parameter
        -I"$SRC/include" -I"$SRC/src/engine" ${MCU_CFLAGS:-})
rm -f "$OUT"/obj/*.o "$OUT/libgraft.a"
for f in "$SRC"/src/engine/*.c "$SRC"/src/port/bare/*.c; do
  $CC "${CFLAGS[@]}" -c "$f" -o "$OUT/obj/$(basename "${f%.c}").o"
done
arm-none-eabi-ar rcs "$OUT/libgraft.a" "$OUT"/obj/*.o

fail=0
bad_refs=$(arm-none-eabi-nm -u "$OUT/libgraft.a" | awk '{print $NF}' | grep -E '^(malloc|free|realloc|calloc|_malloc_r|_free_r|_realloc_r|_calloc_r)$' | sort -u || true)
if [ -n "$bad_refs" ]; then
  echo "mcu-check: FAIL: libgraft.a references: $bad_refs"; fail=1
fi
bad_syms=$(arm-none-eabi-nm -g --defined-only "$OUT/libgraft.a" | awk 'NF==3 {print $3}' | grep -v '^graft_' | sort -u || true)
if [ -n "$bad_syms" ]; then
  echo "mcu-check: FAIL: symbols outside graft_: $bad_syms"; fail=1
fi

$CC "${CFLAGS[@]}" --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections -Wl,-Map="$OUT/firmware.map" \
    "$SRC/tests/mcu/firmware.c" "$OUT/libgraft.a" -lm -o "$OUT/firmware.elf"
# The symbol list is read whole first: `nm | grep -q` under pipefail fails
# the pipeline when grep stops early (SIGPIPE), which hid a match.
fw_syms=$(arm-none-eabi-nm "$OUT/firmware.elf" | awk '{print $NF}')
if grep -qE '^(malloc|_malloc_r)$' <<<"$fw_syms"; then
  echo "mcu-check: FAIL: the linked firmware contains malloc"; fail=1
fi

lib_text=$(arm-none-eabi-size -t "$OUT/libgraft.a" | awk 'END {print $1}')
echo "mcu-check: libgraft.a .text (all objects, before gc-sections): $lib_text bytes"
arm-none-eabi-size "$OUT/firmware.elf" | sed 's/^/mcu-check: /'
# The engine's share of the linked image: the .text input sections from
# libgraft.a that the linker kept (read from the map file).
eng=0
while read -r hex; do eng=$((eng + hex)); done < <(
  awk '/^ \.text/ { if (NF >= 4) { print $3, $4 } else { name = 1; next } }
       name == 1 { print $2, $3; name = 0 }' "$OUT/firmware.map" |
  awk '$2 ~ /libgraft\.a/ {print $1}')
echo "mcu-check: engine .text linked into firmware.elf (from the map): $eng bytes"
if [ $fail -ne 0 ]; then exit 1; fi
echo "mcu-check: ok (no malloc, only graft_ symbols, firmware links)"
