;; hostile.wat - guests that try to hang, exhaust or escape the sandbox
;; (tests/fault/hostile.c). Each export is one attack; the accessors take
;; the address or index so the test can walk every boundary.
(module
  (import "host" "tick" (func $tick (param i32) (result i32)))
  (type $v (func))
  (memory (export "mem") 1 100)
  (table $t 4 10 funcref)
  (elem (table $t) (i32.const 0) func $nop $nop)
  (elem $passive funcref (ref.func $nop) (ref.func $nop))
  (data $d "hostile")
  (func $nop)

  ;; hangs and exhaustion
  (func (export "spin") (loop $l (br $l)))
  (func $rec (export "rec") (call $rec))
  (func (export "storm") (local $acc i32)
    (loop $l
      (local.set $acc (call $tick (local.get $acc)))
      (br $l)))
  ;; memory.grow 1 until -1; then one more must be -1 too; returns the count
  (func (export "grow_loop") (result i32) (local $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $l)))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
    (local.get $n))
  (func (export "table_grow") (param $n i32) (result i32)
    (table.grow $t (ref.null func) (local.get $n)))

  ;; loads and stores of every width at address $a
  (func (export "i32.load") (param $a i32) (result i32) (i32.load (local.get $a)))
  (func (export "i32.load8_s") (param $a i32) (result i32) (i32.load8_s (local.get $a)))
  (func (export "i32.load8_u") (param $a i32) (result i32) (i32.load8_u (local.get $a)))
  (func (export "i32.load16_s") (param $a i32) (result i32) (i32.load16_s (local.get $a)))
  (func (export "i32.load16_u") (param $a i32) (result i32) (i32.load16_u (local.get $a)))
  (func (export "i64.load") (param $a i32) (result i64) (i64.load (local.get $a)))
  (func (export "i64.load8_s") (param $a i32) (result i64) (i64.load8_s (local.get $a)))
  (func (export "i64.load8_u") (param $a i32) (result i64) (i64.load8_u (local.get $a)))
  (func (export "i64.load16_s") (param $a i32) (result i64) (i64.load16_s (local.get $a)))
  (func (export "i64.load16_u") (param $a i32) (result i64) (i64.load16_u (local.get $a)))
  (func (export "i64.load32_s") (param $a i32) (result i64) (i64.load32_s (local.get $a)))
  (func (export "i64.load32_u") (param $a i32) (result i64) (i64.load32_u (local.get $a)))
  (func (export "f32.load") (param $a i32) (result f32) (f32.load (local.get $a)))
  (func (export "f64.load") (param $a i32) (result f64) (f64.load (local.get $a)))
  (func (export "i32.store") (param $a i32) (i32.store (local.get $a) (i32.const -1)))
  (func (export "i32.store8") (param $a i32) (i32.store8 (local.get $a) (i32.const -1)))
  (func (export "i32.store16") (param $a i32) (i32.store16 (local.get $a) (i32.const -1)))
  (func (export "i64.store") (param $a i32) (i64.store (local.get $a) (i64.const -1)))
  (func (export "i64.store8") (param $a i32) (i64.store8 (local.get $a) (i64.const -1)))
  (func (export "i64.store16") (param $a i32) (i64.store16 (local.get $a) (i64.const -1)))
  (func (export "i64.store32") (param $a i32) (i64.store32 (local.get $a) (i64.const -1)))
  (func (export "f32.store") (param $a i32) (f32.store (local.get $a) (f32.const 1)))
  (func (export "f64.store") (param $a i32) (f64.store (local.get $a) (f64.const 1)))
  ;; an offset immediate that alone lands past the end
  (func (export "load_offset") (param $a i32) (result i32)
    (i32.load offset=0xffffffff (local.get $a)))

  ;; bulk memory: (destination, source or value, length)
  (func (export "memory.fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "memory.copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "memory.init") (param i32 i32 i32)
    (memory.init $d (local.get 0) (local.get 1) (local.get 2)))

  ;; tables: (index) or (destination, source, length)
  (func (export "table.get") (param i32) (result funcref) (table.get $t (local.get 0)))
  (func (export "table.set") (param i32) (table.set $t (local.get 0) (ref.null func)))
  (func (export "table.fill") (param i32 i32)
    (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
  (func (export "table.copy") (param i32 i32 i32)
    (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "table.init") (param i32 i32 i32)
    (table.init $t $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "call_indirect") (param i32)
    (call_indirect (type $v) (local.get 0))))
