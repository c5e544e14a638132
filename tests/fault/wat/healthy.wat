;; healthy.wat - the well-behaved guest that runs beside every hostile and
;; heavy module (tests/fault/hostile.c, heavy.c): work(n) stores the sum
;; 0 + 1 + ... + (n-1) at address 0 of its memory and returns it.
(module
  (memory (export "mem") 1 1)
  (func (export "work") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 0) (local.get $acc))
    (local.get $acc)))
