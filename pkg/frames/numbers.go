package frames

import (
	"unsafe"

	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

//go:generate go run gen_numbers.go

// The number columns are the generic column instantiated at the Go type
// clickhouse-go's generated number columns (lib/column/column_gen.go) scan
// into directly; numbers_gen.go maps each ClickHouse name to one.

// fixedDecoder reads a fixed-width number column's encoding, which on a
// little-endian machine is the Go slice's memory: one copy per block.
type fixedDecoder[T any] struct{}

func (fixedDecoder[T]) decode(dst []T, col chcol.Interface, from, to int, enc *encoder) bool {
	if !littleEndian {
		return false
	}
	b := enc.encode(col, false)
	size := int(unsafe.Sizeof(*new(T)))
	if len(b) != size*col.Rows() {
		return false
	}
	if from < to {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), size*(to-from)), b[size*from:size*to])
	}
	return true
}

func newNumber[T any]() *typed[T] { return newTyped[T](fixedDecoder[T]{}) }
