// Command builtin is kpiflow's built-in query optimizer module, compiled to
// WebAssembly (wasip1, ABI v1) and embedded in the backend. See README.md.
//
// It only means something as a module: natively it is an empty command,
// and its logic is tested natively by this package's tests and through the
// host by pkg/optimizer's.
package main

import "unsafe"

func main() {}

// The module's state: the buffers handed to the host (held here so the
// garbage collector keeps them in place until free) and the last catalog.
// One instance serves one call at a time.
var (
	live  = map[int32][]byte{}
	cache catalogCache
)

//go:wasmexport kpiflow_abi_v1
func abiV1() {}

//go:wasmexport alloc
func alloc(size int32) int32 {
	if size < 0 {
		return 0
	}
	b := make([]byte, max(size, 1))
	p := int32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	live[p] = b
	return p
}

//go:wasmexport free
func free(ptr, _ int32) { delete(live, ptr) }

//go:wasmexport optimize
func optimize(ptr, size int32) int64 {
	var out []byte
	if b, ok := live[ptr]; ok && size >= 0 && int(size) <= len(b) {
		out = handle(b[:size], &cache)
	} else {
		out = []byte(`{"error":"builtin: optimize was called with a buffer alloc did not return"}`)
	}
	p := alloc(int32(len(out)))
	copy(live[p], out)
	return int64(p)<<32 | int64(len(out))
}
