package frames

import (
	"fmt"
	"strings"
	"unsafe"

	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Column turns one result column's values, block by block, into a
// data.Field of its final type. For chooses it once per result column from
// the ClickHouse type; Reader and ReadAll drive it.
//
//	col, err := frames.For("Nullable(Float64)")
//	col.Type() // data.FieldTypeNullableFloat64: the fields it fills are []*float64
//
// # Notes
//
// A Column is not safe for concurrent use. It keeps the last block's
// encoding buffer for the next block.
type Column interface {
	// Type is the type of the fields the column fills.
	Type() data.FieldType
	// newField makes the field of n values that fill then writes, and
	// returns its values as a slice of Type's Go type.
	newField(name string, n int) (*data.Field, any, error)
	// fill writes rows [from, to) of a block's column into dst (what
	// newField returned) from index at on. native says the block column's
	// type is the one the Column was made for, so its native encoding may
	// be read in bulk; otherwise each value is scanned.
	fill(dst any, at int, col chcol.Interface, from, to int, native bool) error
	// release drops what the column holds of the last block.
	release()
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
	case "DateTime":
		return newDateTime(), nil
	case "Date", "Date32", "DateTime64":
		return newTime(), nil
	case "Enum8", "Enum16":
		return newEnum(), nil
	case "String":
		return newString(), nil
	case "FixedString", "UUID", "IPv4", "IPv6":
		return newText(), nil
	case "Nothing":
		// Only seen as Nullable(Nothing), the type of a bare NULL: all values
		// are NULL, so a nullable string field carries them.
		return newText(), nil
	case "Bool", "Boolean":
		return newBool(), nil
	}
	if c, ok := forNumber(name); ok && args == "" {
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

// decoder reads rows of a block column in bulk: from the column's data
// where it can reach it, else from its native encoding (what
// column.Interface's Encode writes: ClickHouse's wire format) through enc.
type decoder[T any] interface {
	// decode writes rows [from, to) of col into dst. It reports false when
	// col is not what it reads.
	decode(dst []T, col chcol.Interface, from, to int, enc *encoder) bool
}

// typed is the one Column implementation: values of Go type T, read in
// bulk by dec when the type has a decoder and the block column is native,
// else scanned one by one.
type typed[T any] struct {
	ft   data.FieldType
	dec  decoder[T] // nil: scanned only
	scan func(dst []T, col chcol.Interface, from, to int) error
	enc  encoder
	// null makes the Nullable(T) form of this column (nil: none).
	null func() Column
}

func (c *typed[T]) Type() data.FieldType { return c.ft }
func (c *typed[T]) release()             { c.enc.forget() }

func (c *typed[T]) newField(name string, n int) (*data.Field, any, error) {
	f := data.NewFieldFromFieldType(c.ft, n)
	f.Name = name
	s, err := fieldSlice[T](f)
	return f, s, err
}

func (c *typed[T]) fill(dst any, at int, col chcol.Interface, from, to int, native bool) error {
	if native && c.decodeBlock(dst, at, col, from, to) {
		return nil
	}
	return c.scan(dst.([]T)[at:at+to-from], col, from, to)
}

// decodeBlock is fill's bulk path; false when the type has none or the
// block's encoding is not what the decoder reads.
func (c *typed[T]) decodeBlock(dst any, at int, col chcol.Interface, from, to int) bool {
	return c.dec != nil && c.dec.decode(dst.([]T)[at:at+to-from], col, from, to, &c.enc)
}

func (c *typed[T]) nullable() Column {
	if c.null == nil {
		return nil
	}
	return c.null()
}

// newTyped is a column of T scanned directly into the field's values (the
// driver's ScanRow takes a *T), with an optional bulk decoder, whose
// Nullable form scans into **T (the driver allocates each non-NULL value)
// and decodes in bulk through nullDecoder.
func newTyped[T any](dec decoder[T]) *typed[T] {
	var zero T
	c := &typed[T]{ft: data.FieldTypeFor(zero), dec: dec, scan: scanInto[T]}
	c.null = func() Column {
		n := &typed[*T]{ft: data.FieldTypeFor((*T)(nil)), scan: scanInto[*T]}
		if dec != nil {
			n.dec = nullDecoder[T]{inner: dec}
		}
		return n
	}
	return c
}

// newConverted is a column scanned as S and stored as T (Decimal → float64).
func newConverted[S, T any](conv func(S) T) *typed[T] {
	var zero T
	scan := func(dst []T, col chcol.Interface, from, to int) error {
		var s S
		for i := from; i < to; i++ {
			if err := col.ScanRow(&s, i); err != nil {
				return err
			}
			dst[i-from] = conv(s)
		}
		return nil
	}
	c := &typed[T]{ft: data.FieldTypeFor(zero), scan: scan}
	c.null = func() Column {
		scanNull := func(dst []*T, col chcol.Interface, from, to int) error {
			var p *S
			for i := from; i < to; i++ {
				if err := col.ScanRow(&p, i); err != nil {
					return err
				}
				if p == nil {
					dst[i-from] = nil
					continue
				}
				v := conv(*p)
				dst[i-from] = &v
				p = nil
			}
			return nil
		}
		return &typed[*T]{ft: data.FieldTypeFor((*T)(nil)), scan: scanNull}
	}
	return c
}

// scanInto scans each value straight into its place in the field: the
// driver's ScanRow has a case for *T (and for **T, allocating the value).
func scanInto[T any](dst []T, col chcol.Interface, from, to int) error {
	for i := from; i < to; i++ {
		if err := col.ScanRow(&dst[i-from], i); err != nil {
			return err
		}
	}
	return nil
}

// fieldSlice returns the field's storage as a []T, so a column fills it in
// place. The SDK keeps a field's values in a Go slice and PointerAt returns
// &slice[i]; the check on the last element makes sure that still holds.
func fieldSlice[T any](f *data.Field) ([]T, error) {
	n := f.Len()
	if n == 0 {
		return nil, nil
	}
	first, ok := f.PointerAt(0).(*T)
	last, ok2 := f.PointerAt(n - 1).(*T)
	if !ok || !ok2 {
		return nil, fmt.Errorf("frames: a %s field does not hold %T values", f.Type(), first)
	}
	s := unsafe.Slice(first, n)
	if &s[n-1] != last {
		return nil, fmt.Errorf("frames: a %s field's values are not one Go slice", f.Type())
	}
	return s, nil
}
