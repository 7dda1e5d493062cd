package conformance

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/internal/chdb"
)

// Table is a query's answer in a form both servers' answers can be compared
// in: numbers as float64, DateTime and DateTime64 as Unix milliseconds
// (float64, exact for millisecond instants), Date as the Unix milliseconds
// of its midnight UTC, strings and enum names as string, NULL as nil, arrays
// as []any.
type Table struct {
	Names []string
	// Kinds are the columns' types reduced to what the comparison tells
	// apart: number, string, time, date, array(kind). LowCardinality and
	// Nullable wrappers are dropped (see kind).
	Kinds []string
	// Types are the server's spelling, for messages.
	Types []string
	Rows  [][]any
}

// kind reduces a ClickHouse type to what Table compares.
func kind(typ string) string {
	t := strings.TrimSpace(typ)
	for _, w := range []string{"LowCardinality(", "Nullable("} {
		for strings.HasPrefix(t, w) && strings.HasSuffix(t, ")") {
			t = t[len(w) : len(t)-1]
		}
	}
	switch {
	case strings.HasPrefix(t, "Array("):
		return "array(" + kind(t[len("Array("):len(t)-1]) + ")"
	case strings.HasPrefix(t, "DateTime"):
		return "time"
	case strings.HasPrefix(t, "Date"):
		return "date"
	case strings.HasPrefix(t, "String"), strings.HasPrefix(t, "FixedString"), strings.HasPrefix(t, "Enum"), t == "UUID":
		return "string"
	case strings.HasPrefix(t, "Int"), strings.HasPrefix(t, "UInt"), strings.HasPrefix(t, "Float"),
		strings.HasPrefix(t, "Decimal"), t == "Bool":
		return "number"
	}
	return "other:" + t
}

// FromRows reads a clickhouse-go result into a Table.
func FromRows(rows driver.Rows) (*Table, error) {
	cts := rows.ColumnTypes()
	t := &Table{Names: rows.Columns()}
	for _, ct := range cts {
		t.Types = append(t.Types, ct.DatabaseTypeName())
		t.Kinds = append(t.Kinds, kind(ct.DatabaseTypeName()))
	}
	for rows.Next() {
		dest := make([]any, len(cts))
		for i, ct := range cts {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan a row: %w", err)
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = goValue(reflect.ValueOf(d).Elem())
		}
		t.Rows = append(t.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

func goValue(v reflect.Value) any {
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		return goValue(v.Elem())
	}
	switch x := v.Interface().(type) {
	case time.Time:
		return unixMilli(x)
	case string:
		return x
	case bool:
		if x {
			return 1.0
		}
		return 0.0
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = goValue(v.Index(i))
		}
		return out
	}
	return fmt.Sprintf("%v", v.Interface())
}

// FromChDB reads a chDB result into a Table. Times are read in loc, the
// session's time zone, unless the type names one.
func FromChDB(res *chdb.Result, loc *time.Location) (*Table, error) {
	t := &Table{Names: res.Names, Types: res.Types}
	for _, typ := range res.Types {
		t.Kinds = append(t.Kinds, kind(typ))
	}
	for _, raw := range res.Rows {
		row := make([]any, len(raw))
		for i, cell := range raw {
			v, err := jsonValue(res.Types[i], cell, loc)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", res.Names[i], err)
			}
			row[i] = v
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func jsonValue(typ string, cell json.RawMessage, loc *time.Location) (any, error) {
	if string(cell) == "null" {
		return nil, nil
	}
	k := kind(typ)
	inner := strings.TrimSpace(typ)
	for _, w := range []string{"LowCardinality(", "Nullable("} {
		for strings.HasPrefix(inner, w) {
			inner = inner[len(w) : len(inner)-1]
		}
	}
	switch {
	case strings.HasPrefix(k, "array("):
		var items []json.RawMessage
		if err := json.Unmarshal(cell, &items); err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			v, err := jsonValue(inner[len("Array("):len(inner)-1], it, loc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case k == "number":
		var s string
		if json.Unmarshal(cell, &s) != nil {
			s = string(cell)
		}
		switch s {
		case "nan", "-nan":
			return math.NaN(), nil
		case "inf", "+inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		case "true":
			return 1.0, nil
		case "false":
			return 0.0, nil
		}
		return strconv.ParseFloat(s, 64)
	case k == "time" || k == "date":
		var s string
		if err := json.Unmarshal(cell, &s); err != nil {
			return nil, err
		}
		if i := strings.Index(inner, "'"); i >= 0 {
			if l, err := time.LoadLocation(strings.Trim(inner[i:strings.LastIndex(inner, "'")+1], "'")); err == nil {
				loc = l
			}
		}
		layout := "2006-01-02 15:04:05.999999999"
		if k == "date" {
			// A Date is a day, not an instant: clickhouse-go reads it as
			// midnight UTC.
			layout, loc = time.DateOnly, time.UTC
		}
		tm, err := time.ParseInLocation(layout, s, loc)
		if err != nil {
			return nil, err
		}
		return unixMilli(tm), nil
	default:
		var s string
		if err := json.Unmarshal(cell, &s); err != nil {
			return string(cell), nil
		}
		return s, nil
	}
}

// Tolerance is how an approximate or tie-breaking aggregate may differ:
// its column's value on the modern server must lie, row by row, between the
// lo and hi columns of a band query, which computes the range of correct
// answers exactly from the raw rows on the same engine. The zero Tolerance
// means equal to 18.16.
type Tolerance struct {
	// Column is the column the tolerance applies to.
	Column string
	// Why names the approximation (see Tolerances).
	Why string
	// BandSQL and BandArgs are the band query: the case's rows, in its
	// order, with the columns lo and hi.
	BandSQL  string
	BandArgs []any
}

// bandSlack is the relative rounding a band allows: t-digest keeps its
// centroids as Float32.
const bandSlack = 1e-6

func inBand(v, lo, hi float64) bool {
	return v >= lo-bandSlack*math.Abs(lo) && v <= hi+bandSlack*math.Abs(hi)
}

// Diff lists how got (modern) differs from want (18.16), at most max
// entries; nil means equal. Rows are compared in order: the queries order
// their results completely. The column of tol, if any, is held to band (the
// answer of tol's band query on the modern engine) instead of to want.
func Diff(want, got *Table, tol Tolerance, band *Table, max int) []string {
	var out []string
	add := func(format string, args ...any) bool {
		if len(out) < max {
			out = append(out, fmt.Sprintf(format, args...))
		}
		return len(out) < max
	}
	if !slices.Equal(want.Names, got.Names) {
		add("columns: 18.16 %v, modern %v", want.Names, got.Names)
		return out
	}
	for i := range want.Kinds {
		if want.Kinds[i] != got.Kinds[i] {
			add("column %s: 18.16 type %s, modern %s", want.Names[i], want.Types[i], got.Types[i])
		}
	}
	if len(want.Rows) != len(got.Rows) {
		add("rows: 18.16 %d, modern %d", len(want.Rows), len(got.Rows))
	}
	lo, hi := -1, -1
	if tol.Column != "" {
		if band == nil || len(band.Rows) != len(got.Rows) {
			add("column %s (%s): the band query gives no row for every row", tol.Column, tol.Why)
			return out
		}
		lo, hi = slices.Index(band.Names, "lo"), slices.Index(band.Names, "hi")
	}
	for r := 0; r < min(len(want.Rows), len(got.Rows)); r++ {
		for c := range want.Names {
			a, b := want.Rows[r][c], got.Rows[r][c]
			if want.Names[c] == tol.Column {
				v, ok1 := b.(float64)
				l, ok2 := band.Rows[r][lo].(float64)
				h, ok3 := band.Rows[r][hi].(float64)
				if !ok1 || !ok2 || !ok3 || !inBand(v, l, h) {
					if !add("row %d column %s: modern %v outside [%v, %v] (%s); 18.16 %v", r+1, tol.Column, show(b),
						show(band.Rows[r][lo]), show(band.Rows[r][hi]), tol.Why, show(a)) {
						return out
					}
				}
				continue
			}
			if !equal(a, b) {
				if !add("row %d column %s: 18.16 %v, modern %v", r+1, want.Names[c], show(a), show(b)) {
					return out
				}
			}
		}
	}
	return out
}

func equal(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func show(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if v == nil {
		return "NULL"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func unixMilli(t time.Time) float64 {
	return float64(t.UnixMilli()) + float64(t.Nanosecond()%1e6)/1e6
}
