package frames

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Column collects one result column's values and builds data.Fields from them.
//
//	col, err := frames.For("Nullable(Float64)")
//	target := col.Target() // pass it to rows.Scan for this column, every row
//	for rows.Next() { rows.Scan(targets...); col.Append() }
//	field := col.Field("value") // []*float64 field; col is empty again
//
// # Notes
//
// Target returns the same pointer for the life of the column, so the caller
// builds its []any of scan targets once. A Column is not safe for concurrent use.
type Column interface {
	// Target is the scan destination for this column: a pointer to the
	// concrete Go type whose case clickhouse-go's ScanRow takes directly.
	Target() any
	// Append adds the value last scanned into Target.
	Append()
	// Len is the number of values appended since the last Field call.
	Len() int
	// Field moves the appended values into a new field of exactly Len values
	// and leaves the column empty for the next chunk.
	Field(name string) *data.Field
	// Type is the type of the fields Field builds.
	Type() data.FieldType
}

// nullableColumn is a Column that knows its Nullable(...) form; Nullable
// wraps an inner column through it rather than copying the inner's code.
type nullableColumn interface {
	Column
	nullable() Column
}

// UnsupportedColumnTypeError is a ClickHouse type kpiflow cannot put into a
// frame. Column is the result column's name when known.
type UnsupportedColumnTypeError struct {
	Column string
	Type   string
}

func (e *UnsupportedColumnTypeError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("ClickHouse type %s is not supported in frames; cast it in SQL, e.g. with toString()", e.Type)
	}
	return fmt.Sprintf("column %q: ClickHouse type %s is not supported in frames; cast it in SQL, e.g. toString(%s)",
		e.Column, e.Type, e.Column)
}

// For returns an empty Column for a ClickHouse type as clickhouse-go reports
// it (ColumnType.DatabaseTypeName), such as "UInt64", "DateTime('UTC')",
// "Nullable(Decimal(18, 4))" or "LowCardinality(Nullable(String))".
// It is the only factory: wrappers resolve their inner type through it.
func For(chType string) (Column, error) {
	t := strings.TrimSpace(chType)
	name, args := splitType(t)
	switch name {
	case "Nullable":
		return forNullable(t, args)
	case "LowCardinality":
		return forLowCardinality(args)
	case "SimpleAggregateFunction":
		// SimpleAggregateFunction(f, T) stores plain T values.
		parts := splitArgs(args)
		if len(parts) != 2 {
			return nil, &UnsupportedColumnTypeError{Type: t}
		}
		return For(parts[1])
	case "Array", "Map":
		return newJSONText(), nil
	case "Decimal", "Decimal32", "Decimal64", "Decimal128", "Decimal256":
		return newDecimal(), nil
	case "Date", "Date32", "DateTime", "DateTime64":
		return newDateTime(), nil
	case "Enum8", "Enum16":
		return newEnum(), nil
	case "String", "FixedString", "UUID", "IPv4", "IPv6":
		return newString(), nil
	case "Nothing":
		// Only seen as Nullable(Nothing), the type of a bare NULL: all values
		// are NULL, so a nullable string field carries them.
		return newString(), nil
	case "Bool", "Boolean":
		return newBool(), nil
	}
	if c, ok := newNumber(name); ok && args == "" {
		return c, nil
	}
	return nil, &UnsupportedColumnTypeError{Type: t}
}

// splitType splits "Name(args)" into "Name" and "args"; a bare name has no args.
func splitType(t string) (name, args string) {
	i := strings.IndexByte(t, '(')
	if i < 0 || !strings.HasSuffix(t, ")") {
		return t, ""
	}
	return strings.TrimSpace(t[:i]), t[i+1 : len(t)-1]
}

// splitArgs splits type arguments at top-level commas, respecting nested
// parentheses and quoted strings (enum names may hold commas).
func splitArgs(args string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(args); i++ {
		c := args[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(args[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(args[start:]))
}

// plain is a column whose scan type is also its field's value type.
type plain[T any] struct {
	v   T
	buf buffer[T]
	ft  data.FieldType
}

func newPlain[T any]() *plain[T] {
	var zero T
	return &plain[T]{ft: data.FieldTypeFor(zero)}
}

func (c *plain[T]) Target() any                   { return &c.v }
func (c *plain[T]) Append()                       { c.buf.add(c.v) }
func (c *plain[T]) Len() int                      { return c.buf.n }
func (c *plain[T]) Field(name string) *data.Field { return c.buf.field(name, c.ft) }
func (c *plain[T]) Type() data.FieldType          { return c.ft }
func (c *plain[T]) nullable() Column              { return newNullPlain[T]() }

// converted is a column scanned as S and stored as T (Decimal → float64).
type converted[S, T any] struct {
	v    S
	conv func(S) T
	buf  buffer[T]
	ft   data.FieldType
}

func newConverted[S, T any](conv func(S) T) *converted[S, T] {
	var zero T
	return &converted[S, T]{conv: conv, ft: data.FieldTypeFor(zero)}
}

func (c *converted[S, T]) Target() any                   { return &c.v }
func (c *converted[S, T]) Append()                       { c.buf.add(c.conv(c.v)) }
func (c *converted[S, T]) Len() int                      { return c.buf.n }
func (c *converted[S, T]) Field(name string) *data.Field { return c.buf.field(name, c.ft) }
func (c *converted[S, T]) Type() data.FieldType          { return c.ft }
func (c *converted[S, T]) nullable() Column              { return newNullConverted(c.conv) }

// buffer holds values in chunks that never regrow: the first is small (a
// three-row result stays cheap), each next one doubles up to maxChunk. A
// field is then allocated once at the exact length and filled by copy, so
// building a frame never holds more than the values plus one field's worth.
type buffer[T any] struct {
	full [][]T
	cur  []T
	n    int
	// first is the size of the first chunk after a field was built: the
	// last field's length, so a Reader's next chunk fits in one allocation.
	first int
}

const (
	firstChunk = 256
	maxChunk   = 64 * 1024
)

func (b *buffer[T]) add(v T) {
	if len(b.cur) == cap(b.cur) {
		b.grow()
	}
	b.cur = append(b.cur, v)
	b.n++
}

func (b *buffer[T]) grow() {
	size := max(b.first, firstChunk)
	if b.cur != nil {
		b.full = append(b.full, b.cur)
		size = min(2*cap(b.cur), maxChunk)
	}
	b.cur = make([]T, 0, size)
}

// field moves the values into a new field and empties the buffer.
func (b *buffer[T]) field(name string, ft data.FieldType) *data.Field {
	f := data.NewFieldFromFieldType(ft, b.n)
	f.Name = name
	if b.n > 0 {
		dst, ok := fieldSlice[T](f, b.n)
		chunks := append(b.full, b.cur)
		b.full, b.cur = nil, nil
		at := 0
		for i, chunk := range chunks {
			// Drop each chunk once copied, so the collector can take it
			// back while the rest is copied.
			chunks[i] = nil
			if ok {
				at += copy(dst[at:], chunk)
				continue
			}
			for _, v := range chunk {
				f.Set(at, v)
				at++
			}
		}
	}
	*b = buffer[T]{first: min(b.n, maxChunk)}
	return f
}

// fieldSlice returns the field's storage as a []T, so values are copied in
// bulk. The SDK keeps a field's values in a Go slice and PointerAt returns
// &slice[i]; the check on the last element makes sure that still holds and
// falls back to Set per value otherwise.
func fieldSlice[T any](f *data.Field, n int) ([]T, bool) {
	first, ok := f.PointerAt(0).(*T)
	if !ok {
		return nil, false
	}
	last, ok := f.PointerAt(n - 1).(*T)
	if !ok {
		return nil, false
	}
	s := unsafe.Slice(first, n)
	if &s[n-1] != last {
		return nil, false
	}
	return s, true
}
