;; Recurses without any loop until the stack runs out.
(module
  (memory (export "memory") 1)
  (func (export "kpiflow_abi_v1"))
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "free") (param i32 i32))
  (func $deeper (param $n i64) (result i64)
    (call $deeper (i64.add (local.get $n) (i64.const 1))))
  (func (export "optimize") (param i32 i32) (result i64)
    (call $deeper (i64.const 0))))
