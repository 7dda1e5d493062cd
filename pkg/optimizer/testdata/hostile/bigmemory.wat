;; Declares 20 MiB of memory, more than the 16 MiB cap.
(module
  (memory (export "memory") 320)
  (func (export "kpiflow_abi_v1"))
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "free") (param i32 i32))
  (func (export "optimize") (param i32 i32) (result i64) (i64.const 0)))
