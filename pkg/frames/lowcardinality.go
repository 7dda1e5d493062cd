package frames

import (
	"encoding/binary"

	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// forLowCardinality resolves LowCardinality(T). LowCardinality(String) and
// LowCardinality(Nullable(String)), the dimension columns of kpiflow's
// tables on servers that have the type, are read in bulk: each distinct
// value is decoded once per block and every row refers to it. Other inner
// types are scanned: clickhouse-go's LowCardinality.ScanRow hands the
// destination to its dictionary column (and reports NULL itself), so the
// inner type's column scans them unchanged.
func forLowCardinality(args string) (Column, error) {
	switch args {
	case "String":
		return newTyped[string](lowCardinalityDecoder{}), nil
	case "Nullable(String)":
		return &typed[*string]{ft: data.FieldTypeNullableString, dec: lowCardinalityNullDecoder{}, scan: scanInto[*string]}, nil
	}
	inner, err := For(args)
	if err != nil {
		return nil, err
	}
	return scanned{inner}, nil
}

// scanned is a column whose block encoding is not its inner type's (a
// LowCardinality of it): every value is scanned.
type scanned struct{ Column }

func (s scanned) fill(dst any, at int, col chcol.Interface, from, to int, _ bool) error {
	return s.Column.fill(dst, at, col, from, to, false)
}

// lowCardinality is a block of LowCardinality(String) or
// LowCardinality(Nullable(String)) as clickhouse-go encodes it (its parts
// are unexported; the dictionary is small, the keys one copy): UInt64 flags
// whose low byte gives the key width (0–3: 1, 2, 4, 8 bytes), Int64
// dictionary size, the dictionary as Strings (for the Nullable form, entry 0
// stands for NULL), Int64 row count, and one key per row.
type lowCardinality struct {
	dict  []string // sharing the encoding's memory
	keys  []byte
	width int
}

// parseLowCardinality reads the encoding b of rows values and checks that
// every key of rows [from, to) names a dictionary entry.
func parseLowCardinality(b []byte, rows, from, to int) (lowCardinality, bool) {
	if len(b) < 16 {
		return lowCardinality{}, false
	}
	l := lowCardinality{width: 1 << (binary.LittleEndian.Uint64(b) & 0xff)}
	size := binary.LittleEndian.Uint64(b[8:])
	if l.width > 8 || size == 0 || size > uint64(len(b)) {
		return lowCardinality{}, false
	}
	l.dict = make([]string, size)
	end := decodeStrings(l.dict, b[16:], int(size), 0, int(size))
	if end < 0 {
		return lowCardinality{}, false
	}
	keys := b[16+end:]
	if len(keys) != 8+l.width*rows || binary.LittleEndian.Uint64(keys) != uint64(rows) {
		return lowCardinality{}, false
	}
	l.keys = keys[8:]
	for i := from; i < to; i++ {
		if l.key(i) >= size {
			return lowCardinality{}, false
		}
	}
	return l, true
}

func (l lowCardinality) key(i int) uint64 {
	switch l.width {
	case 1:
		return uint64(l.keys[i])
	case 2:
		return uint64(binary.LittleEndian.Uint16(l.keys[2*i:]))
	case 4:
		return uint64(binary.LittleEndian.Uint32(l.keys[4*i:]))
	}
	return binary.LittleEndian.Uint64(l.keys[8*i:])
}

// lowCardinalityDecoder reads LowCardinality(String).
type lowCardinalityDecoder struct{}

func (lowCardinalityDecoder) decode(dst []string, col chcol.Interface, from, to int, enc *encoder) bool {
	if col.Rows() == 0 || from >= to {
		return from >= to
	}
	l, ok := parseLowCardinality(enc.encode(col, true), col.Rows(), from, to)
	if !ok {
		return false
	}
	for i := from; i < to; i++ {
		dst[i-from] = l.dict[l.key(i)]
	}
	return true
}

// lowCardinalityNullDecoder reads LowCardinality(Nullable(String)).
type lowCardinalityNullDecoder struct{}

func (lowCardinalityNullDecoder) decode(dst []*string, col chcol.Interface, from, to int, enc *encoder) bool {
	if col.Rows() == 0 || from >= to {
		return from >= to
	}
	l, ok := parseLowCardinality(enc.encode(col, true), col.Rows(), from, to)
	if !ok {
		return false
	}
	// Each row gets its own value, so no two rows share a pointer.
	values := make([]string, to-from)
	for i := from; i < to; i++ {
		if k := l.key(i); k != 0 {
			values[i-from] = l.dict[k]
			dst[i-from] = &values[i-from]
		} else {
			dst[i-from] = nil
		}
	}
	return true
}
