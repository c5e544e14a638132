#!/usr/bin/env bash
# cli.sh BUILD_DIR SOURCE_DIR - end-to-end tests of the graft CLI itself:
# validate, inspect, run --invoke with every number type and NaN payloads,
# traps (status 134 and a backtrace), exit codes and their clamping above
# 125, usage errors (status 2), and the sandbox: a guest (examples/c/
# fsprobe.c) trying to leave its preopened directory must get ENOTCAPABLE
# inside the guest while legitimate reads work, and a :ro preopen must
# refuse writes. Test modules are written here in the text format and
# converted with wat2wasm at test time. Prints "N passed, N failed".
. "$(dirname "$0")/harness.bash" "$@"

command -v wat2wasm >/dev/null || abort "wat2wasm not found (Debian package wabt)"

# ---- a test module in the text format ---------------------------------------
cat > "$WORK/t.wat" <<'WAT'
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 2)
  (table 3 funcref)
  (global $counter (mut i32) (i32.const 0))
  (global (export "answer") i64 (i64.const 42))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "fadd32") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
  (func (export "fadd64") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
  (func (export "id32") (param f32) (result f32) (local.get 0))
  (func (export "id64") (param f64) (result f64) (local.get 0))
  (func (export "neg32") (param f32) (result f32) (f32.neg (local.get 0)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "multi") (result i32 i64 f32 f64)
    (i32.const -7) (i64.const 1099511627776) (f32.const 0.5) (f64.const -1e100))
  (func $inner (unreachable))
  (func $middle (call $inner))
  (func (export "boom") (call $middle))
  (func (export "exit_with") (param i32) (call $proc_exit (local.get 0)))
  (func (export "refs") (result funcref externref) (ref.null func) (ref.null extern))
  (func (export "isnull") (param externref) (result i32) (ref.is_null (local.get 0)))
  (func (export "count") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
)
WAT
wat2wasm --debug-names "$WORK/t.wat" -o "$WORK/t.wasm" || abort "wat2wasm t.wat failed"
# Append a custom section: id 0, size 16, name "graft-test" (10), "hello".
printf '\x00\x10\x0agraft-test\x68\x65\x6c\x6c\x6f' >> "$WORK/t.wasm"

# WASI commands whose _start returns, exits with a code, or traps.
command_module() { # NAME BODY
  printf '(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1) (func (export "_start") %s))\n' "$2" > "$WORK/$1.wat"
  wat2wasm "$WORK/$1.wat" -o "$WORK/$1.wasm" || abort "wat2wasm $1.wat failed"
}
command_module ret ''
for code in 0 7 125 126 255 256 300 -1; do
  command_module "exit$code" "(call \$exit (i32.const $code))"
done
command_module trap '(unreachable)'
printf '(module (func (export "f")))' > "$WORK/nostart.wat"
wat2wasm "$WORK/nostart.wat" -o "$WORK/nostart.wasm"
# a start function that traps; an import nobody provides; a WASI reactor
printf '(module (func $s unreachable) (start $s) (func (export "_start")))' > "$WORK/starttrap.wat"
wat2wasm "$WORK/starttrap.wat" -o "$WORK/starttrap.wasm"
printf '(module (import "env" "missing" (func)) (func (export "_start")))' > "$WORK/unlinked.wat"
wat2wasm "$WORK/unlinked.wat" -o "$WORK/unlinked.wasm"
printf '(module (global $g (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $g (i32.const 99)))
  (func (export "get") (result i32) (global.get $g)))' > "$WORK/reactor.wat"
wat2wasm "$WORK/reactor.wat" -o "$WORK/reactor.wasm"

# ---- validate -----------------------------------------------------------------
run validate_ok "$GRAFT" validate "$WORK/t.wasm"
check_rc validate_ok 0
check_out validate_ok ok

printf '\x00asm\x01\x00\x00\x00\x0d\x00' > "$WORK/badsection.wasm" # section id 13
run validate_badid "$GRAFT" validate "$WORK/badsection.wasm"
check_rc validate_badid 1
check_grep validate_badid err '^graft: .*badsection.wasm: malformed section id.*offset 0x8\)?$'

printf '\x00asm\x02\x00\x00\x00' > "$WORK/badversion.wasm"
run validate_badversion "$GRAFT" validate "$WORK/badversion.wasm"
check_rc validate_badversion 1
check_grep validate_badversion err 'unknown binary version.*offset 0x4\)?$'

printf '(module (func (result i32) (i64.const 1)))' > "$WORK/typeerr.wat"
wat2wasm --no-check "$WORK/typeerr.wat" -o "$WORK/typeerr.wasm"
run validate_type "$GRAFT" validate "$WORK/typeerr.wasm"
check_rc validate_type 1
check_grep validate_type err '^graft: .*typeerr.wasm: type mismatch.*offset 0x[0-9a-f]+\)?$'

head -c 20 "$WORK/t.wasm" > "$WORK/truncated.wasm"
run validate_truncated "$GRAFT" validate "$WORK/truncated.wasm"
check_rc validate_truncated 1
check_grep validate_truncated err 'unexpected end|length out of bounds|section size mismatch'

# Issue 11: validate said ok, then graft run (unmetered) crashed compiling
# a local.tee of an aliased local right after the function's first mapped
# instruction, a load; metered, its trap named the function's first byte.
cat > "$WORK/tee_after_load.wat" <<'WAT'
(module
  (memory 1)
  (func (export "f") (param i32) (result i32)
    local.get 0
    local.get 0
    i32.const 0
    i32.load offset=OFFSET
    local.tee 0
    drop
    drop
    drop
    local.get 0)
  (func (export "_start")
    i32.const 7
    call 0
    drop))
WAT
sed 's/OFFSET/2154/' "$WORK/tee_after_load.wat" > "$WORK/tee_ok.wat"
sed 's/OFFSET/65534/' "$WORK/tee_after_load.wat" > "$WORK/tee_trap.wat"
wat2wasm "$WORK/tee_ok.wat" -o "$WORK/tee_ok.wasm" || abort "wat2wasm tee_ok.wat failed"
wat2wasm "$WORK/tee_trap.wat" -o "$WORK/tee_trap.wasm" || abort "wat2wasm tee_trap.wat failed"
run tee_validate "$GRAFT" validate "$WORK/tee_ok.wasm"
check_rc tee_validate 0
check_out tee_validate ok
run tee_run "$GRAFT" run "$WORK/tee_ok.wasm"
check_rc tee_run 0
run tee_run_fuel "$GRAFT" run --fuel 1000 "$WORK/tee_ok.wasm"
check_rc tee_run_fuel 0
# The trap names the i32.load (byte 0x38), unmetered and metered alike.
run tee_trap "$GRAFT" run "$WORK/tee_trap.wasm"
check_rc tee_trap 134
check_grep tee_trap err '^  #0 func\[0\] at wasm offset 0x38$'
run tee_trap_fuel "$GRAFT" run --fuel 1000 "$WORK/tee_trap.wasm"
check_rc tee_trap_fuel 134
check_grep tee_trap_fuel err '^  #0 func\[0\] at wasm offset 0x38$'

# Flag edges (issue 11): the top of --fuel's range parses; --max-stack
# accepts its documented maximum, 32G, and a stack that large, which the
# allocator cannot give in full, still runs (the engine takes the largest
# halving it is granted), and deep recursion traps rather than failing
# for memory. ASan would abort at the refused allocation instead of
# returning NULL, as libc does.
run fuel_top "$GRAFT" run --fuel 18446744073709551614 --invoke add "$WORK/t.wasm" 2 40
check_rc fuel_top 0
check_out fuel_top i32:42
run fuel_max "$GRAFT" run --fuel 18446744073709551615 --invoke add "$WORK/t.wasm" 2 40
check_rc fuel_max 0
run fuel_over "$GRAFT" run --fuel 18446744073709551616 --invoke add "$WORK/t.wasm" 2 40
check_rc fuel_over 2
check_grep fuel_over err 'expected a whole number'
printf '(module (func $f (export "deep") (param i32) (result i32)
  (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
    (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1))))))))' \
  > "$WORK/deep.wat"
wat2wasm "$WORK/deep.wat" -o "$WORK/deep.wasm" || abort "wat2wasm deep.wat failed"
huge_ok="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
run stack_32g env ASAN_OPTIONS="$huge_ok" "$GRAFT" run --max-stack 32G --invoke deep "$WORK/deep.wasm" 9000
check_rc stack_32g 0
check_out stack_32g i32:9000
run stack_32g_deep env ASAN_OPTIONS="$huge_ok" "$GRAFT" run --max-stack 32G --invoke deep "$WORK/deep.wasm" 20000
check_rc stack_32g_deep 134
check_grep stack_32g_deep err '^graft: trap: call stack exhausted'
run stack_over "$GRAFT" run --max-stack 33G --invoke deep "$WORK/deep.wasm" 1
check_rc stack_over 2
check_grep stack_over err 'must be from 512 bytes to 32G'

# ---- inspect ----------------------------------------------------------------------
run inspect "$GRAFT" inspect "$WORK/t.wasm"
check_rc inspect 0
check_grep inspect out '^imports: 1$'
check_grep inspect out '^  func\[0\] wasi_snapshot_preview1\.proc_exit: \(i32\) -> \(\)$'
check_grep inspect out '^exports: 16$'
check_grep inspect out '^  func\[[0-9]+\] "add": \(i32, i32\) -> \(i32\)$'
check_grep inspect out '^  func\[[0-9]+\] "multi": \(\) -> \(i32, i64, f32, f64\)$'
check_grep inspect out '^  memory\[0\] "memory": min 1 pages, max 2 pages$'
check_grep inspect out '^  global\[1\] "answer": i64$'
check_grep inspect out '^  memory\[0\]: min 1 pages, max 2 pages$'
check_grep inspect out '^  table\[0\]: funcref min 3, no max$'
check_grep inspect out '^  global\[0\]: mut i32$'
check_grep inspect out '^functions: 17 \(1 imported, 16 defined\)$'
check_grep inspect out '^  "name": [0-9]+ bytes$'
check_grep inspect out '^  "graft-test": 5 bytes$'
check_grep inspect out '^code section: [1-9][0-9]* bytes$'
check_grep inspect out '^internal code: [1-9][0-9]* bytes$'
run inspect_wasi "$GRAFT" inspect "$WORK/reactor.wasm"
check_grep inspect_wasi out '^  func\[0\] "_initialize": \(\) -> \(\)$'
check_grep inspect_wasi out '^globals: 0 imported, 1 defined$'
run inspect_bad "$GRAFT" inspect "$WORK/badsection.wasm"
check_rc inspect_bad 1

# ---- run --invoke -------------------------------------------------------------------
# invoke NAME EXPECTED_OUTPUT FUNC ARGS...: exit 0 and exactly this output.
invoke() {
  local name=$1 expected=$2
  shift 2
  run "$name" "$GRAFT" run --invoke "$@"
  check_rc "$name" 0
  check_out "$name" "$expected"
}
T="$WORK/t.wasm"
invoke add 'i32:42' add "$T" 2 40
invoke add_wrap 'i32:-2147483648' add "$T" 2147483647 1
invoke add_unsigned 'i32:-2' add "$T" 4294967295 -1
invoke add_prefixed 'i32:0' add "$T" i32:-5 5
invoke add64 'i64:-9223372036854775808' add64 "$T" 9223372036854775807 1
invoke add64_neg 'i64:-3000000000000' add64 "$T" -1000000000000 -2000000000000
invoke fadd32 'f32:0.3' fadd32 "$T" 0.1 0.2
invoke fadd32_round 'f32:16777216' fadd32 "$T" 16777216 1
invoke fadd32_inf 'f32:inf' fadd32 "$T" 3e38 3e38
invoke fadd64 'f64:0.30000000000000004' fadd64 "$T" 0.1 0.2
invoke fadd64_hex 'f64:3.25' fadd64 "$T" 0x1.8p1 0x1p-2
invoke id32_denormal 'f32:1e-45' id32 "$T" 0x1p-149
invoke id32_nan 'f32:nan:0x400000' id32 "$T" nan
invoke id32_negnan 'f32:-nan:0x400000' id32 "$T" -nan
invoke id32_payload 'f32:nan:0x200001' id32 "$T" nan:0x200001
invoke id32_signalling 'f32:nan:0x1' id32 "$T" nan:0x1
invoke neg32_nan 'f32:-nan:0x1' neg32 "$T" nan:0x1
invoke neg32_zero 'f32:-0' neg32 "$T" 0
invoke id64_payload 'f64:-nan:0xfffffffffffff' id64 "$T" -nan:0xfffffffffffff
invoke id64_signalling 'f64:nan:0x1' id64 "$T" nan:0x1
invoke id64_ninf 'f64:-inf' id64 "$T" -inf
invoke id64_min 'f64:5e-324' id64 "$T" 5e-324
invoke multi $'i32:-7\ni64:1099511627776\nf32:0.5\nf64:-1e+100' multi "$T"
invoke count 'i32:1' count "$T"
invoke refs $'funcref:null\nexternref:null' refs "$T"
invoke isnull 'i32:1' isnull "$T" null
invoke reactor 'i32:99' get "$WORK/reactor.wasm"
invoke reactor_init '' _initialize "$WORK/reactor.wasm"

run invoke_arity "$GRAFT" run --invoke add "$T" 1
check_rc invoke_arity 2
check_grep invoke_arity err "'add' takes 2 arguments \(i32, i32\) -> \(i32\), got 1"
run invoke_badvalue "$GRAFT" run --invoke add "$T" 1 x
check_rc invoke_badvalue 2
check_grep invoke_badvalue err "argument 2 of 'add': 'x' is not an integer"
run invoke_range "$GRAFT" run --invoke add "$T" 1 4294967296
check_rc invoke_range 2
run invoke_badnan "$GRAFT" run --invoke id32 "$T" nan:0x800000
check_rc invoke_badnan 2
run invoke_noexport "$GRAFT" run --invoke nope "$T"
check_rc invoke_noexport 2
check_grep invoke_noexport err "no export named 'nope'"
run invoke_notfunc "$GRAFT" run --invoke memory "$T"
check_rc invoke_notfunc 2

# ---- traps -------------------------------------------------------------------------
run trap_invoke "$GRAFT" run --invoke boom "$T"
check_rc trap_invoke 134
check_grep trap_invoke err '^graft: trap: unreachable'
check_grep trap_invoke err '^backtrace:$'
frames=$(sed -n '/^backtrace:$/,$p' "$WORK/trap_invoke.err" | grep -c '^  ')
if [ "$frames" -ge 3 ]; then pass; else
  fail "trap_invoke: expected >= 3 backtrace frames (inner, middle, boom), got $frames" \
    "stderr: $(cat "$WORK/trap_invoke.err")"
fi
check_grep trap_invoke err 'inner'
run trap_div "$GRAFT" run --invoke div "$T" 1 0
check_rc trap_div 134
check_grep trap_div err '^graft: trap: integer divide by zero'
run trap_overflow "$GRAFT" run --invoke div "$T" -2147483648 -1
check_rc trap_overflow 134
check_grep trap_overflow err '^graft: trap: integer overflow'
run trap_start "$GRAFT" run "$WORK/trap.wasm"
check_rc trap_start 134
check_grep trap_start err '^graft: trap: unreachable'
run trap_startsection "$GRAFT" run "$WORK/starttrap.wasm"
check_rc trap_startsection 134
check_grep trap_startsection err '^graft: trap: unreachable'
run unlinked "$GRAFT" run "$WORK/unlinked.wasm"
check_rc unlinked 126
check_grep unlinked err 'cannot link: .*(env|missing)'

# ---- exit codes ---------------------------------------------------------------------
run ret "$GRAFT" run "$WORK/ret.wasm"
check_rc ret 0
for code in 0 7 125; do
  run "exit$code" "$GRAFT" run "$WORK/exit$code.wasm"
  check_rc "exit$code" "$code"
  check_eq "exit$code: stderr is empty" "$(cat "$WORK/exit$code.err")" ""
done
for code in 126 255 256 300 -1; do
  run "exit$code" "$GRAFT" run "$WORK/exit$code.wasm"
  check_rc "exit$code" 125
  unsigned=$(( code < 0 ? code + 4294967296 : code ))
  check_grep "exit$code" err "^graft: the guest exited with code $unsigned; .* exits with 125$"
done
run invoke_exit "$GRAFT" run --invoke exit_with "$T" 9
check_rc invoke_exit 9
check_out invoke_exit ''

# ---- usage errors ---------------------------------------------------------------------
run missing "$GRAFT" run "$WORK/no-such.wasm"
check_rc missing 2
check_grep missing err "^graft: cannot read '.*no-such.wasm': No such file or directory$"
run missing_validate "$GRAFT" validate "$WORK/no-such.wasm"
check_rc missing_validate 2
run missing_inspect "$GRAFT" inspect "$WORK/no-such.wasm"
check_rc missing_inspect 2
run badflag "$GRAFT" run --frobnicate "$T"
check_rc badflag 2
check_grep badflag err "^graft: unknown flag '--frobnicate'$"
run nodir "$GRAFT" run --dir "$WORK/no-such-dir" "$WORK/ret.wasm"
check_rc nodir 2
check_grep nodir err 'is not a directory'
run badmode "$GRAFT" run --dir "$WORK:/x:rx" "$WORK/ret.wasm"
check_rc badmode 2
run noflagvalue "$GRAFT" run --env
check_rc noflagvalue 2
run badenv "$GRAFT" run --env NOEQUALS "$WORK/ret.wasm"
check_rc badenv 2
run nomodule "$GRAFT" run
check_rc nomodule 2
run badcmd "$GRAFT" frobnicate
check_rc badcmd 2
run noargs "$GRAFT"
check_rc noargs 2
run version "$GRAFT" --version
check_rc version 0
check_grep version out '^graft [0-9]+\.[0-9]+\.[0-9]+$'
run help "$GRAFT" help
check_rc help 0
check_grep help out 'graft run'
run helprun "$GRAFT" help run
check_rc helprun 0
check_grep helprun out '--invoke NAME'
run malformed_run "$GRAFT" run "$WORK/badsection.wasm"
check_rc malformed_run 126
check_grep malformed_run err 'malformed section id'
run nostart "$GRAFT" run "$WORK/nostart.wasm"
check_rc nostart 126
check_grep nostart err 'no _start export'

# ---- the sandbox, seen from a guest ------------------------------------------------------
build_examples
PROBE="$EXAMPLES/fsprobe.wasm"
mkdir -p "$WORK/box/data/sub" "$WORK/outside" "$WORK/ro"
echo "inside" > "$WORK/box/data/ok.txt"
echo "secret" > "$WORK/outside/secret.txt"
echo "keep" > "$WORK/ro/keep.txt"
ln -s ../../outside/secret.txt "$WORK/box/data/rel-link"
ln -s "$WORK/outside/secret.txt" "$WORK/box/data/abs-link"
ln -s ok.txt "$WORK/box/data/inner-link"
BOX=(--dir "$WORK/box/data:/data")

# probe NAME FLAGS... -- OPS...: run fsprobe; stdout is checked line by line.
probe() {
  local name=$1 flags=()
  shift
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  run "$name" "$GRAFT" run "${flags[@]}" "$PROBE" "$@"
  check_rc "$name" 0
}
probe box_ok "${BOX[@]}" -- read /data/ok.txt read /data/sub/../ok.txt read /data/inner-link \
  raw ok.txt raw sub/../ok.txt write /data/new.txt
check_grep box_ok out '^read /data/ok.txt: ok 7$'
check_grep box_ok out '^read /data/sub/../ok.txt: ok 7$'
check_grep box_ok out '^read /data/inner-link: ok 7$'
check_grep box_ok out '^raw ok.txt: ok 0$'
check_grep box_ok out '^raw sub/../ok.txt: ok 0$'
check_grep box_ok out '^write /data/new.txt: ok 6$'
check_eq "box_ok: the write reached the host" "$(cat "$WORK/box/data/new.txt" 2>&1)" "hello"

probe box_escape "${BOX[@]}" -- read /data/../outside/secret.txt read /etc/passwd \
  read /data/rel-link read /data/abs-link write /data/../outside/new.txt \
  raw ../outside/secret.txt raw /etc/passwd raw rel-link raw abs-link raw sub/../../outside/secret.txt
for op in 'read /data/../outside/secret.txt' 'read /etc/passwd' 'read /data/rel-link' \
  'read /data/abs-link' 'write /data/../outside/new.txt' 'raw ../outside/secret.txt' \
  'raw /etc/passwd' 'raw rel-link' 'raw abs-link' 'raw sub/../../outside/secret.txt'; do
  check_grep box_escape out "^$(printf '%s' "$op" | sed 's/[.[*^$/]/\\&/g'): errno=76 ENOTCAPABLE$"
done
[ ! -e "$WORK/outside/new.txt" ] && pass || fail "box_escape: a file was created outside the preopen"

probe ro_dir --dir "$WORK/ro:/ro:ro" -- read /ro/keep.txt write /ro/new.txt write /ro/keep.txt \
  mkdir /ro/newdir unlink /ro/keep.txt
check_grep ro_dir out '^read /ro/keep.txt: ok 5$'
check_grep ro_dir out '^write /ro/new.txt: errno=[0-9]+ '
check_grep ro_dir out '^write /ro/keep.txt: errno=[0-9]+ '
check_grep ro_dir out '^mkdir /ro/newdir: errno=[0-9]+ '
check_grep ro_dir out '^unlink /ro/keep.txt: errno=[0-9]+ '
[ ! -e "$WORK/ro/new.txt" ] && [ ! -e "$WORK/ro/newdir" ] && [ "$(cat "$WORK/ro/keep.txt")" == keep ] &&
  pass || fail "ro_dir: the read-only directory changed on the host" "$(ls -la "$WORK/ro")"

finish
