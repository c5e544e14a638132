#!/usr/bin/env bash
# limits.sh BUILD_DIR SOURCE_DIR - the CLI's sandbox flags end to end:
# --fuel (a spinning guest stops with status 152 and a message naming fuel;
# a bounded one finishes within its fuel and not one unit below it),
# --timeout (status 142 naming the deadline), --max-memory (memory.grow
# returns -1 at the cap below the declared maximum) and --max-stack (deep
# recursion traps "call stack exhausted"). Prints "N passed, N failed".
. "$(dirname "$0")/harness.bash" "$@"

command -v wat2wasm >/dev/null || abort "wat2wasm not found (Debian package wabt)"

cat > "$WORK/l.wat" <<'WAT'
(module
  (memory 1 100)
  (func (export "spin") (loop (br 0)))
  (func (export "count") (param i32) (result i32) (local i32)
    (loop
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func $rec (export "rec") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get 0) (i32.const 1))))))))
WAT
wat2wasm "$WORK/l.wat" -o "$WORK/l.wasm" || abort "wat2wasm l.wat failed"
L="$WORK/l.wasm"

# --fuel: an infinite loop stops, with its own status and message.
run fuel_spin "$GRAFT" run --fuel 100000 --invoke spin "$L"
check_rc fuel_spin 152
check_grep fuel_spin err '^graft: out of fuel: the guest used all 100000 units of --fuel$'

# count(n) costs 8n + 4 units (8 instructions a turn; loop, end, local.get,
# end once): enough fuel finishes, one unit less does not.
run fuel_enough "$GRAFT" run --fuel 8004 --invoke count "$L" 1000
check_rc fuel_enough 0
check_out fuel_enough 'i32:1000'
run fuel_short "$GRAFT" run --fuel 8003 --invoke count "$L" 1000
check_rc fuel_short 152

run fuel_bad "$GRAFT" run --fuel 0 --invoke spin "$L"
check_rc fuel_bad 2

# --timeout: the same loop stops at the deadline.
run timeout_spin "$GRAFT" run --timeout 200 --invoke spin "$L"
check_rc timeout_spin 142
check_grep timeout_spin err 'deadline of 200 ms exceeded'

# --max-memory: 4 pages (256K) caps a memory declared up to 100 pages.
run mem_ok "$GRAFT" run --max-memory 256K --invoke grow "$L" 3
check_out mem_ok 'i32:1'
run mem_cap "$GRAFT" run --max-memory 256K --invoke grow "$L" 4
check_rc mem_cap 0
check_out mem_cap 'i32:-1'
run mem_nocap "$GRAFT" run --invoke grow "$L" 4
check_out mem_nocap 'i32:1'

# --max-stack: the same recursion fits a large stack and not a small one.
run stack_ok "$GRAFT" run --invoke rec "$L" 5000
check_out stack_ok 'i32:5000'
run stack_small "$GRAFT" run --max-stack 4K --invoke rec "$L" 5000
check_rc stack_small 134
check_grep stack_small err 'call stack exhausted'

finish
