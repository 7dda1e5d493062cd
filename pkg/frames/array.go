package frames

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
)

// newJSONText is the column of Array(T) and Map(K, V): each value becomes
// its JSON text in a string field (["a","b"], {"k":1}), which tables show and
// transformations can parse. clickhouse-go builds the Go slice or map by
// reflection and hands it to a sql.Scanner; there is no typed path for
// nested values, so these columns cost more than scalar ones. ClickHouse has
// no Nullable(Array), so there is no nullable form.
func newJSONText() Column {
	c := newConverted(func(v jsonValue) string { return v.s })
	c.null = nil
	return c
}

// jsonValue is the scan target; clickhouse-go's Array and Map ScanRow call
// Scan with the decoded value.
type jsonValue struct {
	s string
	b bytes.Buffer
}

func (j *jsonValue) Scan(src any) error {
	j.b.Reset()
	if err := writeJSON(&j.b, reflect.ValueOf(src)); err != nil {
		return fmt.Errorf("encode %T as JSON text: %w", src, err)
	}
	j.s = j.b.String()
	return nil
}

// writeJSON is json.Marshal except that byte slices (Array(UInt8)) are
// number arrays, as ClickHouse shows them, not base64 text.
func writeJSON(b *bytes.Buffer, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if v.Type().Implements(marshalerType) || v.Type().Implements(textMarshalerType) {
			break // uuid.UUID is a [16]byte with its own text form
		}
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case reflect.Invalid:
		b.WriteString("null")
		return nil
	}
	out, err := json.Marshal(v.Interface())
	if err != nil {
		return err
	}
	b.Write(out)
	return nil
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)
