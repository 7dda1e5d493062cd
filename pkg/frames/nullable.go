package frames

import (
	"github.com/ClickHouse/ch-go/proto"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// forNullable resolves Nullable(T): the inner column's nullable form, so
// Nullable never copies an inner type's code.
func forNullable(t, args string) (Column, error) {
	inner, err := For(args)
	if err != nil {
		return nil, &UnsupportedColumnTypeError{Type: t}
	}
	n, ok := inner.(nullableColumn)
	if !ok {
		return nil, &UnsupportedColumnTypeError{Type: t}
	}
	c := n.nullable()
	if c == nil {
		return nil, &UnsupportedColumnTypeError{Type: t}
	}
	return c, nil
}

// nullDecoder reads Nullable(T): the NULL map (a byte per row, 1 for NULL)
// and the inner column's values in bulk. The values of one block share one
// allocation, which the field's pointers point into.
type nullDecoder[T any] struct{ inner decoder[T] }

func (d nullDecoder[T]) decode(dst []*T, col chcol.Interface, from, to int, enc *encoder) bool {
	n, ok := col.(*chcol.Nullable)
	if !ok {
		return false
	}
	nulls, ok := innerField[proto.ColUInt8](n, "nulls")
	if !ok || len(*nulls) != col.Rows() {
		return false
	}
	values := make([]T, to-from)
	if !d.inner.decode(values, n.Base(), from, to, enc) {
		return false
	}
	for i, null := range (*nulls)[from:to] {
		if null != 0 {
			dst[i] = nil
		} else {
			dst[i] = &values[i]
		}
	}
	return true
}
