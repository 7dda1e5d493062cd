;; Traps at once.
(module
  (memory (export "memory") 1)
  (func (export "kpiflow_abi_v1"))
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "free") (param i32 i32))
  (func (export "optimize") (param i32 i32) (result i64)
    (unreachable)))
