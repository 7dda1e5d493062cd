;; Answers with bytes outside its 64 KiB memory.
(module
  (memory (export "memory") 1)
  (func (export "kpiflow_abi_v1"))
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "free") (param i32 i32))
  (func (export "optimize") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 0xfff00000) (i64.const 32)) (i64.const 100))))
