package frames

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Reshaping: the long results of ClickHouse queries become the frames
// Grafana's panels, alert rules and SQL Expressions read.

// Field finds a result field by name.
func Field(res *data.Frame, name string) (*data.Field, error) {
	for _, f := range res.Fields {
		if f.Name == name {
			return f, nil
		}
	}
	return nil, fmt.Errorf("shape result: no column %q", name)
}

// TimeAt reads a DateTime cell (time.Time or *time.Time; nil as zero).
func TimeAt(f *data.Field, i int) time.Time {
	switch v := f.At(i).(type) {
	case time.Time:
		return v.UTC()
	case *time.Time:
		if v != nil {
			return v.UTC()
		}
	}
	return time.Time{}
}

// StringAt reads a String or Enum cell.
func StringAt(f *data.Field, i int) string {
	switch v := f.At(i).(type) {
	case string:
		return v
	case *string:
		if v != nil {
			return *v
		}
		return ""
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(f.At(i))
}

// FloatAt reads a numeric cell; NULL and NaN read as nil.
func FloatAt(f *data.Field, i int) *float64 {
	var x float64
	switch v := f.At(i).(type) {
	case float64:
		x = v
	case *float64:
		if v == nil {
			return nil
		}
		x = *v
	case float32:
		x = float64(v)
	case *float32:
		if v == nil {
			return nil
		}
		x = float64(*v)
	case uint64:
		x = float64(v)
	case *uint64:
		if v == nil {
			return nil
		}
		x = float64(*v)
	case int64:
		x = float64(v)
	case *int64:
		if v == nil {
			return nil
		}
		x = float64(*v)
	case uint32:
		x = float64(v)
	case int32:
		x = float64(v)
	case uint8:
		x = float64(v)
	case int:
		x = float64(v)
	default:
		return nil
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// LongToMulti splits a long result (time, group columns, value) into one
// frame per series: a time field and a value field labelled with the
// groups (Meta.Type timeseries-multi), which is what multi-dimensional alert
// rules and SQL Expressions read. names maps a group column to its label
// name; the "metric" column, when present, names the value field. unit is the
// value's unit ("" for none).
//
// # Notes
//
// It works by column: each row's series is found once (from the group
// columns' values, read without boxing), then each series' time and value
// fields are allocated at their final length and gathered in one pass. A
// series' values are []float64 unless it has a NULL, NaN or infinite value,
// which become nulls in a []*float64 field, as before.
func LongToMulti(res *data.Frame, names map[string]string, valueCol, unit string) (data.Frames, error) {
	tf, err := Field(res, "time")
	if err != nil {
		return nil, err
	}
	vf, err := Field(res, valueCol)
	if err != nil {
		return nil, err
	}
	var groups []*data.Field
	for _, f := range res.Fields {
		if f != tf && f != vf {
			groups = append(groups, f)
		}
	}
	n := res.Rows()
	times := Times(tf)
	values, valid := floatsOf(vf)
	cols := make([][]string, len(groups))
	for g, f := range groups {
		cols[g] = Strings(f)
	}

	// One pass to give each row its series; the key is the group values,
	// each ended by a NUL byte, built in one reused buffer (a map lookup by
	// string(key) does not allocate).
	type series struct {
		key          string
		first, count int
		nulls        bool
	}
	var list []series
	index := map[string]int32{}
	of := make([]int32, n)
	var key []byte
	for i := 0; i < n; i++ {
		key = key[:0]
		for _, c := range cols {
			key = append(append(key, c[i]...), 0)
		}
		id, ok := index[string(key)]
		if !ok {
			id = int32(len(list))
			index[string(key)] = id
			list = append(list, series{key: string(key), first: i})
		}
		of[i] = id
		list[id].count++
		if !valid[i] {
			list[id].nulls = true
		}
	}

	// Fields at their final length, then one gathering pass.
	order := make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return list[order[a]].key < list[order[b]].key })
	tvals := make([][]time.Time, len(list))
	vvals := make([][]float64, len(list))
	vnull := make([][]*float64, len(list))
	frames := make(data.Frames, len(list))
	for rank, id := range order {
		s := list[id]
		name := valueCol
		labels := data.Labels{}
		for g, f := range groups {
			v := cols[g][s.first]
			if f.Name == "metric" {
				name = v
				continue
			}
			label := names[f.Name]
			if label == "" {
				label = f.Name
			}
			labels[label] = v
		}
		tfield, tv := newFieldOf[time.Time]("time", data.FieldTypeTime, s.count)
		tvals[id] = tv
		var vfield *data.Field
		if s.nulls {
			vfield, vnull[id] = newFieldOf[*float64](name, data.FieldTypeNullableFloat64, s.count)
		} else {
			vfield, vvals[id] = newFieldOf[float64](name, data.FieldTypeFloat64, s.count)
		}
		vfield.Labels = labels
		if unit != "" {
			vfield.Config = &data.FieldConfig{Unit: unit}
		}
		f := data.NewFrame(name, tfield, vfield)
		f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
		frames[rank] = f
	}
	at := make([]int, len(list))
	for i, id := range of {
		k := at[id]
		at[id]++
		tvals[id][k] = times[i]
		switch {
		case vvals[id] != nil:
			vvals[id][k] = values[i]
		case valid[i]:
			vnull[id][k] = &values[i]
		}
	}
	if len(frames) == 0 {
		frames = append(frames, NoData(data.FrameTypeTimeSeriesMulti))
	}
	return frames, nil
}

// newFieldOf makes a field of n values of type ft and returns it with its
// values as a []T to fill.
func newFieldOf[T any](name string, ft data.FieldType, n int) (*data.Field, []T) {
	f := data.NewFieldFromFieldType(ft, n)
	f.Name = name
	s, _ := fieldSlice[T](f) // ft is T's field type: the view always exists
	return f, s
}

// Times reads a time column in UTC (NULL as the zero time), as TimeAt does
// per cell, without boxing each value.
func Times(f *data.Field) []time.Time {
	out := make([]time.Time, f.Len())
	switch f.Type() {
	case data.FieldTypeTime:
		src, _ := fieldSlice[time.Time](f)
		for i, t := range src {
			out[i] = t.UTC()
		}
	default:
		for i := range out {
			out[i] = TimeAt(f, i)
		}
	}
	return out
}

// Strings reads a column as strings, as StringAt does per cell: a
// []string field is used as it is (read the slice, do not change it).
func Strings(f *data.Field) []string {
	if f.Type() == data.FieldTypeString {
		s, _ := fieldSlice[string](f)
		return s
	}
	out := make([]string, f.Len())
	for i := range out {
		out[i] = StringAt(f, i)
	}
	return out
}

// floatsOf reads a numeric column as float64 values and whether each is a
// number (not NULL, NaN or infinite), as FloatAt does per cell; Float64
// columns, the usual aggregate, without boxing.
func floatsOf(f *data.Field) ([]float64, []bool) {
	n := f.Len()
	values, valid := make([]float64, n), make([]bool, n)
	switch f.Type() {
	case data.FieldTypeFloat64:
		src, _ := fieldSlice[float64](f)
		for i, x := range src {
			values[i], valid[i] = x, !math.IsNaN(x) && !math.IsInf(x, 0)
		}
	case data.FieldTypeNullableFloat64:
		src, _ := fieldSlice[*float64](f)
		for i, p := range src {
			if p != nil {
				values[i], valid[i] = *p, !math.IsNaN(*p) && !math.IsInf(*p, 0)
			}
		}
	default:
		for i := range values {
			if p := FloatAt(f, i); p != nil {
				values[i], valid[i] = *p, true
			}
		}
	}
	return values, valid
}

// RenameTable returns the long result with group columns renamed to what a
// person reads (label keys instead of label_0).
func RenameTable(res *data.Frame, names map[string]string) *data.Frame {
	for _, f := range res.Fields {
		if n, ok := names[f.Name]; ok && n != "" {
			f.Name = n
		}
	}
	AsTable(res)
	return res
}

// AsTable marks a frame as a table, which is also how panels should show it.
func AsTable(f *data.Frame) {
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTable, PreferredVisualization: data.VisTypeTable}
}

// AsNumericLong marks a frame of string and number columns, one row per
// combination of the strings, as the dataplane's numeric-long: an alert rule
// reads each row's numbers as values labelled by its strings. Panels still
// show it as a table.
func AsNumericLong(f *data.Frame) {
	f.Meta = &data.FrameMeta{Type: data.FrameTypeNumericLong, TypeVersion: data.FrameTypeVersion{0, 1},
		PreferredVisualization: data.VisTypeTable}
}

// NoData is the dataplane's "no data" answer of a frame type: one frame of
// that type without fields, which alert rules read as No data (a frame with
// fields and no rows is an empty series, and a long-shaped one an error).
func NoData(typ data.FrameType) *data.Frame {
	f := data.NewFrame("")
	f.Meta = &data.FrameMeta{Type: typ, TypeVersion: data.FrameTypeVersion{0, 1}}
	return f
}

// FillSeries gives every series of timeseries-multi frames a point at each
// bucket start in [from, to), with value where it had none. Frames without
// rows (the empty response) stay as they are.
func FillSeries(frames data.Frames, from, to, bucket int64, value float64) data.Frames {
	if bucket <= 0 || (to-from)/bucket > 100_000 {
		return frames
	}
	for _, f := range frames {
		if f.Rows() == 0 || len(f.Fields) != 2 {
			continue
		}
		have := map[int64]*float64{}
		for i := 0; i < f.Rows(); i++ {
			have[TimeAt(f.Fields[0], i).Unix()] = FloatAt(f.Fields[1], i)
		}
		var times []time.Time
		var values []*float64
		for b := from; b < to; b += bucket {
			v, ok := have[b]
			if !ok {
				x := value
				v = &x
			}
			times = append(times, time.Unix(b, 0).UTC())
			values = append(values, v)
		}
		tf := data.NewField(f.Fields[0].Name, f.Fields[0].Labels, times)
		vf := data.NewField(f.Fields[1].Name, f.Fields[1].Labels, values)
		vf.Config = f.Fields[1].Config
		f.Fields = []*data.Field{tf, vf}
	}
	return frames
}

// TimeSeriesWide shapes a result for format timeseries. A long frame (a time
// column, number columns, and string columns naming the series) becomes a
// wide frame whose string columns are labels; a wide one is kept. The frame
// is sorted by time first, as the SDK's conversion requires.
func TimeSeriesWide(f *data.Frame, maxRows int) (*data.Frame, error) {
	schema := f.TimeSeriesSchema()
	switch schema.Type {
	case data.TimeSeriesTypeNot:
		return nil, fmt.Errorf("format: timeseries needs a DateTime column and at least one number column; "+
			"the result has %s (use format table, or select e.g. $__timeInterval(ts) AS time, count() ... GROUP BY time ORDER BY time)",
			describeFields(f))
	case data.TimeSeriesTypeWide:
		sortByTime(f, schema.TimeIndex)
		f.Meta.Type = data.FrameTypeTimeSeriesWide
		f.Meta.TypeVersion = data.FrameTypeVersion{0, 1}
		return f, nil
	}
	if f.Rows() == 0 {
		// A long frame without rows has no series to widen: no data.
		nd := NoData(data.FrameTypeTimeSeriesWide)
		nd.Name, nd.RefID = f.Name, f.RefID
		if f.Meta != nil {
			nd.Meta.ExecutedQueryString, nd.Meta.Notices = f.Meta.ExecutedQueryString, f.Meta.Notices
		}
		return nd, nil
	}
	sortByTime(f, schema.TimeIndex)
	// A cap in cells keeps a result with very many series from taking all
	// memory: one wide cell per long value, twenty times over, is plenty.
	wide, err := data.LongToWideWithLimit(f, nil, int64(max(maxRows, 1))*20)
	if err != nil {
		return nil, fmt.Errorf("format: timeseries: %w; check that the time column has no NULLs, or use format table", err)
	}
	wide.RefID = f.RefID
	wide.Meta.Type = data.FrameTypeTimeSeriesWide
	wide.Meta.TypeVersion = data.FrameTypeVersion{0, 1}
	return wide, nil
}

func describeFields(f *data.Frame) string {
	if len(f.Fields) == 0 {
		return "no columns"
	}
	s := ""
	for i, fld := range f.Fields {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (%s)", fld.Name, fld.Type().ItemTypeString())
	}
	return s
}

// sortByTime sorts the frame's rows by its time field, stably, when they are
// not in order already (the usual ORDER BY time costs nothing here).
func sortByTime(f *data.Frame, ti int) {
	tf := f.Fields[ti]
	n := tf.Len()
	at := func(i int) time.Time { return TimeAt(tf, i) }
	sorted := true
	for i := 1; i < n && sorted; i++ {
		sorted = !at(i).Before(at(i - 1))
	}
	if sorted {
		return
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return at(idx[a]).Before(at(idx[b])) })
	for k, fld := range f.Fields {
		nf := data.NewFieldFromFieldType(fld.Type(), n)
		nf.Name, nf.Labels, nf.Config = fld.Name, fld.Labels, fld.Config
		for i, j := range idx {
			nf.Set(i, fld.CopyAt(j))
		}
		f.Fields[k] = nf
	}
}
