package demo

import (
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kpiflow/kpiflow/pkg/schema"
)

// Chunk is one ingest request body: rows [From, To) of a stream as NDJSON.
type Chunk struct {
	Stream string
	// Index counts the stream's chunks from 0.
	Index    int
	From, To int
	Body     []byte
}

// Chunks encodes a stream as NDJSON bodies of at most size rows, encoding
// each only when the loop reaches it (a 90-day KPI stream is a few hundred
// megabytes of JSON). It yields one error, for an unknown stream or a size
// below 1.
//
//	for c, err := range ds.Chunks(demo.StreamKPI, 5000) { ... }
func (d *Dataset) Chunks(stream string, size int) iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		if size < 1 {
			yield(Chunk{}, fmt.Errorf("chunk size: expected at least 1 row, got %d", size))
			return
		}
		if !slices.Contains(Streams(), stream) {
			yield(Chunk{}, fmt.Errorf("stream: unknown stream %q; expected one of %v", stream, Streams()))
			return
		}
		n := d.Len(stream)
		for i, from := 0, 0; from < n; i, from = i+1, from+size {
			to := min(from+size, n)
			body, err := d.NDJSON(stream, from, to)
			if !yield(Chunk{Stream: stream, Index: i, From: from, To: to, Body: body}, err) || err != nil {
				return
			}
		}
	}
}

// NDJSON encodes rows [from, to) of a stream, one JSON object per line, with
// the ingest API's keys in the stream's order (schema.Stream.Fields): the
// same objects encoding/json gives for the row types, whose json tags name
// those keys.
func (d *Dataset) NDJSON(stream string, from, to int) ([]byte, error) {
	rows, ok := d.rows(stream)
	if !ok {
		return nil, fmt.Errorf("stream: unknown stream %q; expected one of %v", stream, Streams())
	}
	if from < 0 || to > rows.Len() || from > to {
		return nil, fmt.Errorf("rows [%d, %d) out of range for stream %q with %d rows", from, to, stream, rows.Len())
	}
	enc, err := newRowEncoder(stream, rows.Type().Elem())
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, (to-from)*32*len(enc))
	for i := from; i < to; i++ {
		buf = enc.append(buf, rows.Index(i))
		buf = append(buf, '\n')
	}
	return buf, nil
}

// fieldEncoder writes one key of a row: its "key": prefix, the struct field
// holding the value and how to write it.
type fieldEncoder struct {
	prefix []byte
	index  int
	kind   schema.FieldKind
}

// rowEncoder writes a row type's fields in the stream's key order.
type rowEncoder []fieldEncoder

// newRowEncoder matches the stream's keys with the row type's json tags.
// Optional keys the row type lacks are left out (a column added to the
// schema needs no change here until the generator fills it).
func newRowEncoder(stream string, row reflect.Type) (rowEncoder, error) {
	s, ok := schema.StreamFor(stream)
	if !ok {
		return nil, fmt.Errorf("stream: unknown stream %q; expected one of %v", stream, Streams())
	}
	byTag := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(row) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		byTag[name] = f
	}
	var enc rowEncoder
	for _, f := range s.Fields() {
		sf, ok := byTag[f.Name]
		switch {
		case !ok && f.Required:
			return nil, fmt.Errorf("demo: %s has no field tagged %q, which the %s stream requires", row, f.Name, stream)
		case !ok:
			continue // an optional key the generator does not fill
		}
		if want := goType(f.Kind); sf.Type != want {
			return nil, fmt.Errorf("demo: %s.%s is %s, the %s key %q needs %s", row, sf.Name, sf.Type, stream, f.Name, want)
		}
		prefix := appendString(nil, f.Name)
		enc = append(enc, fieldEncoder{prefix: append(prefix, ':'), index: sf.Index[0], kind: f.Kind})
	}
	return enc, nil
}

// goType is the Go type a row type holds a key of kind k in.
func goType(k schema.FieldKind) reflect.Type {
	switch k {
	case schema.FieldFloat:
		return reflect.TypeFor[float64]()
	case schema.FieldTime:
		return reflect.TypeFor[time.Time]()
	case schema.FieldNullTime:
		return reflect.TypeFor[*time.Time]()
	case schema.FieldList:
		return reflect.TypeFor[[]string]()
	case schema.FieldLabels:
		return reflect.TypeFor[map[string]string]()
	}
	return reflect.TypeFor[string]()
}

// append writes row (an addressable struct value) as one JSON object. Values
// are read through pointers, so nothing is boxed per value.
func (e rowEncoder) append(b []byte, row reflect.Value) []byte {
	b = append(b, '{')
	first := true
	for _, f := range e {
		v := row.Field(f.index)
		if f.kind == schema.FieldLabels && v.Len() == 0 {
			continue // omitempty, as the row types' tags say
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.prefix...)
		switch f.kind {
		case schema.FieldFloat:
			b = appendNumber(b, v.Float())
		case schema.FieldTime:
			b = appendTime(b, *v.Addr().Interface().(*time.Time))
		case schema.FieldNullTime:
			if t := v.Interface().(*time.Time); t != nil {
				b = appendTime(b, *t)
			} else {
				b = append(b, "null"...)
			}
		case schema.FieldList:
			b = appendStrings(b, *v.Addr().Interface().(*[]string))
		case schema.FieldLabels:
			b = appendLabels(b, v.Interface().(map[string]string))
		default:
			b = appendString(b, v.String())
		}
	}
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func appendNumber(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// appendStrings writes a list; nil is written as [], as the ingest API
// takes both alike.
func appendStrings(b []byte, v []string) []byte {
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendLabels writes labels as an object with sorted keys.
func appendLabels(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendString writes s as a JSON string. Plain ASCII text, which is what
// the generator makes, is copied as it is; anything that may need escaping
// goes through encoding/json, since the rows are exported types and callers
// may put any text in them.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
