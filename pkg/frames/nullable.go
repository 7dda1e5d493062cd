package frames

import "github.com/grafana/grafana-plugin-sdk-go/data"

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
	return n.nullable(), nil
}

// nullPlain scans into **T: clickhouse-go sets it to nil for NULL and to a
// freshly allocated *T otherwise, which the nullable field keeps as is.
type nullPlain[T any] struct {
	p   *T
	buf buffer[*T]
	ft  data.FieldType
}

func newNullPlain[T any]() *nullPlain[T] {
	return &nullPlain[T]{ft: data.FieldTypeFor((*T)(nil))}
}

func (c *nullPlain[T]) Target() any { return &c.p }
func (c *nullPlain[T]) Append() {
	c.buf.add(c.p)
	// The next row's ScanRow allocates a new *T (or writes nil); dropping
	// ours makes sure two rows can never share one value.
	c.p = nil
}
func (c *nullPlain[T]) Len() int                      { return c.buf.n }
func (c *nullPlain[T]) Field(name string) *data.Field { return c.buf.field(name, c.ft) }
func (c *nullPlain[T]) Type() data.FieldType          { return c.ft }

// nullConverted scans into **S and stores *T (Nullable(Decimal) → *float64).
type nullConverted[S, T any] struct {
	p    *S
	conv func(S) T
	buf  buffer[*T]
	ft   data.FieldType
}

func newNullConverted[S, T any](conv func(S) T) *nullConverted[S, T] {
	return &nullConverted[S, T]{conv: conv, ft: data.FieldTypeFor((*T)(nil))}
}

func (c *nullConverted[S, T]) Target() any { return &c.p }
func (c *nullConverted[S, T]) Append() {
	if c.p == nil {
		c.buf.add(nil)
		return
	}
	v := c.conv(*c.p)
	c.buf.add(&v)
	c.p = nil
}
func (c *nullConverted[S, T]) Len() int                      { return c.buf.n }
func (c *nullConverted[S, T]) Field(name string) *data.Field { return c.buf.field(name, c.ft) }
func (c *nullConverted[S, T]) Type() data.FieldType          { return c.ft }

var (
	_ Column = (*nullPlain[float64])(nil)
	_ Column = (*nullConverted[float64, float64])(nil)
)
