package frames

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// blockTracker reads which native block a clickhouse-go driver.Rows is
// positioned in. clickhouse-go decodes each block the server sends into a
// fresh *proto.Block and steps through it row by row, but keeps it in an
// unexported field ("block") of its rows type; no public API hands it out.
// The field is found once per result by name and type with reflect, and
// read with one pointer load per row.
//
// # Notes
//
// This depends on clickhouse-go's layout (checked in v2.50). Another layout
// is an error naming the driver type, not a silent slow path; the tests that
// read a real server fail first when an upgrade changes it.
type blockTracker struct {
	rows unsafe.Pointer // the rows struct
	off  uintptr        // offset of its block field
}

func newBlockTracker(rows driver.Rows) (blockTracker, error) {
	// A wrapper of the driver's rows (store.Rows, which notes whether they
	// were read to the end) says what it wraps; the blocks are the driver's.
	if w, ok := rows.(interface{ Unwrap() driver.Rows }); ok {
		rows = w.Unwrap()
	}
	v := reflect.ValueOf(rows)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if f, ok := v.Elem().Type().FieldByName("block"); ok && f.Type == reflect.TypeFor[*chproto.Block]() {
			return blockTracker{rows: v.UnsafePointer(), off: f.Offset}, nil
		}
	}
	return blockTracker{}, fmt.Errorf("read query result: the ClickHouse driver's rows (%T) do not expose their native blocks "+
		"(pkg/frames reads clickhouse-go v2.50's layout)", rows)
}

// block is the block the rows' last successful Next moved into.
func (t blockTracker) block() *chproto.Block {
	return *(**chproto.Block)(unsafe.Add(t.rows, t.off))
}

// innerField returns a pointer to the unexported field name of the struct
// col points to, when it exists with type T: how the decoders reach a
// clickhouse-go column's ch-go data (checked, like blockTracker, against
// clickhouse-go v2.50; another layout makes them fall back to scanning).
func innerField[T any](col any, name string) (*T, bool) {
	v := reflect.ValueOf(col)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() || f.Type() != reflect.TypeFor[T]() {
		return nil, false
	}
	return (*T)(unsafe.Pointer(f.UnsafeAddr())), true
}

// littleEndian is whether this machine stores numbers as ClickHouse's
// native format does, so fixed-width columns can be copied as bytes.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// encoder produces a block column's native encoding (column.Interface's
// Encode: the server's own wire format), the public bulk view of a column
// clickhouse-go offers. Encoding a fixed-width column is one copy.
type encoder struct {
	col  chcol.Interface
	buf  proto.Buffer
	size int // the last encoding's length, to size the next buffer
}

// encode returns col's encoding, reusing the last one for the same column.
// With fresh set the bytes get a buffer of their own that is never reused
// (values keep pointing into it); otherwise one buffer serves every block.
func (e *encoder) encode(col chcol.Interface, fresh bool) []byte {
	if e.col == col {
		return e.buf.Buf
	}
	if fresh {
		e.buf.Buf = make([]byte, 0, e.size+e.size/8)
	} else {
		e.buf.Buf = e.buf.Buf[:0]
	}
	col.Encode(&e.buf)
	e.col, e.size = col, len(e.buf.Buf)
	return e.buf.Buf
}

// forget drops the reference to the last column, so its block can be
// collected; the reused buffer stays.
func (e *encoder) forget() { e.col = nil }
