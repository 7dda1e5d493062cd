;; note.wat: the smallest useful kpiflow optimizer module (ABI v1). It keeps
;; every plan as it is and adds one note, so you can see a module's notice on
;; a panel. Build: wat2wasm note.wat -o note.wasm
(module
  ;; Two pages (128 KiB) to start; alloc grows it when a request needs more.
  (memory (export "memory") 2)

  ;; The answer, at offset 16: {"notes":["…"]} (the plan is left out, so the
  ;; host keeps it).
  (data (i32.const 16) "{\"notes\":[\"The note example module saw this query.\"]}")
  (global $answer_len i32 (i32.const 53))

  ;; Requests go at 4096. The host calls alloc once per request and frees
  ;; it after the call, so one buffer is all this module needs.
  (global $heap i32 (i32.const 4096))

  ;; The marker the host looks for: this module speaks ABI v1.
  (func (export "kpiflow_abi_v1"))

  ;; alloc(size) -> pointer, growing the memory when the request needs it;
  ;; 0 when it cannot (the host then skips the module).
  (func (export "alloc") (param $size i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 65535))
                 (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (global.get $heap))

  ;; free(pointer, size): nothing to do with a single buffer.
  (func (export "free") (param i32 i32))

  ;; optimize(request pointer, request length) -> answer pointer << 32 | length.
  (func (export "optimize") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32))
            (i64.extend_i32_u (global.get $answer_len)))))
