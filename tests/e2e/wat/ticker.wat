;; ticker: the healthy module of the hostile-module tests. It publishes
;; "ok" on ok/tick from a 20 ms periodic timer; timers fire at a fixed rate
;; (missed periods are skipped, not bunched), so its count over a window is
;; its rate. Grants: publish ok/tick, one timer of at least 20 ms.
(module
  (import "iot_v1" "publish" (func $pub (param i32 i32 i32 i32) (result i32)))
  (import "iot_v1" "timer_start" (func $start (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ok/tick")
  (func (export "on_start") (result i32) (call $start (i32.const 1) (i32.const 20) (i32.const 1)))
  (func (export "on_timer") (param i32) (result i32)
    (drop (call $pub (i32.const 0) (i32.const 7) (i32.const 0) (i32.const 2)))
    (i32.const 0)))
