;; Calls the inert WASI functions for TestInertImports; results land in
;; memory at fixed offsets.
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; bytes 8..24 start non-zero so random_get must clear them
  (data (i32.const 8) "\ff\ff\ff\ff\ff\ff\ff\ff\ff\ff\ff\ff\ff\ff\ff\ff")
  ;; an iovec at 32: 5 bytes at 64
  (data (i32.const 32) "\40\00\00\00\05\00\00\00")
  (data (i32.const 64) "oops\n")
  (func (export "clock") (result i64) (i64.extend_i32_u (call $clock (i32.const 0) (i64.const 1) (i32.const 0))))
  (func (export "clockOutside") (result i64) (i64.extend_i32_u (call $clock (i32.const 0) (i64.const 1) (i32.const 65535))))
  (func (export "random") (result i64) (i64.extend_i32_u (call $random (i32.const 8) (i32.const 16))))
  (func (export "environ") (result i64)
    (i32.store (i32.const 24) (i32.const 7)) (i32.store (i32.const 28) (i32.const 7))
    (i64.extend_i32_u (call $environ (i32.const 24) (i32.const 28))))
  (func (export "args") (result i64)
    (i32.store (i32.const 24) (i32.const 7)) (i32.store (i32.const 28) (i32.const 7))
    (i64.extend_i32_u (call $args (i32.const 24) (i32.const 28))))
  (func (export "preopen") (result i64) (i64.extend_i32_u (call $prestat (i32.const 3) (i32.const 100))))
  (func (export "write3") (result i64) (i64.extend_i32_u (call $write (i32.const 3) (i32.const 32) (i32.const 1) (i32.const 40))))
  (func (export "write2") (result i64) (i64.extend_i32_u (call $write (i32.const 2) (i32.const 32) (i32.const 1) (i32.const 40)))))
