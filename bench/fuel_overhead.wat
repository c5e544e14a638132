;; fuel_overhead.wat - CPU-heavy guests for bench/fuel_overhead.c, which
;; runs each export with and without fuel charges. Converted at build time
;; by wat2wasm (CMakeLists.txt, target bench_fuel_overhead).
(module
  (memory 1)
  ;; recursive fib: three basic blocks per call
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  ;; an arithmetic loop: one block per iteration (xorshift + accumulate)
  (func (export "loop") (param $n i32) (result i32)
    (local $x i32) (local $acc i32)
    (local.set $x (i32.const 2463534242))
    (loop $l
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
      (local.set $acc (i32.add (local.get $acc) (local.get $x)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  ;; memory-heavy: clear 64 KiB, $rounds passes over 16 Ki words, each word
  ;; += its neighbour + 1, then the sum of the words
  (func (export "memory") (param $rounds i32) (result i32)
    (local $i i32) (local $acc i32)
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536))
    (loop $round
      (local.set $i (i32.const 4))
      (loop $word
        (i32.store (local.get $i)
          (i32.add (i32.load (local.get $i))
                   (i32.add (i32.load (i32.sub (local.get $i) (i32.const 4))) (i32.const 1))))
        (br_if $word (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4)))
                               (i32.const 65536))))
      (br_if $round (local.tee $rounds (i32.sub (local.get $rounds) (i32.const 1)))))
    (local.set $i (i32.const 0))
    (loop $sum
      (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $i))))
      (br_if $sum (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4)))
                            (i32.const 65536))))
    (local.get $acc))
  ;; call-heavy: a loop calling two small functions per iteration
  (func $mix (param $a i32) (param $b i32) (result i32)
    (i32.add (i32.mul (local.get $a) (i32.const 31)) (local.get $b)))
  (func $odd (param $a i32) (result i32)
    (if (result i32) (i32.and (local.get $a) (i32.const 1))
      (then (i32.const 3)) (else (i32.const 5))))
  (func (export "calls") (param $n i32) (result i32)
    (local $acc i32)
    (loop $l
      (local.set $acc (call $mix (local.get $acc) (call $odd (local.get $n))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc)))
