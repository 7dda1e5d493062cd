package frames

import (
	"fmt"
	"math"
	"sort"
	"strings"
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
	type series struct {
		labels data.Labels
		name   string
		times  []time.Time
		values []*float64
	}
	byKey := map[string]*series{}
	var keys []string
	for i := 0; i < res.Rows(); i++ {
		var sb strings.Builder
		labels := data.Labels{}
		name := valueCol
		for _, g := range groups {
			v := StringAt(g, i)
			sb.WriteString(v)
			sb.WriteByte(0)
			if g.Name == "metric" {
				name = v
				continue
			}
			n := names[g.Name]
			if n == "" {
				n = g.Name
			}
			labels[n] = v
		}
		k := sb.String()
		s := byKey[k]
		if s == nil {
			s = &series{labels: labels, name: name}
			byKey[k] = s
			keys = append(keys, k)
		}
		s.times = append(s.times, TimeAt(tf, i))
		s.values = append(s.values, FloatAt(vf, i))
	}
	sort.Strings(keys)
	frames := make(data.Frames, 0, len(keys))
	for _, k := range keys {
		s := byKey[k]
		val := data.NewField(s.name, s.labels, s.values)
		if unit != "" {
			val.Config = &data.FieldConfig{Unit: unit}
		}
		f := data.NewFrame(s.name, data.NewField("time", nil, s.times), val)
		f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		// An empty result is still a (series-less) time series response.
		f := data.NewFrame("", data.NewField("time", nil, []time.Time{}), data.NewField("value", nil, []*float64{}))
		f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
		frames = append(frames, f)
	}
	return frames, nil
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
		f.Meta.Type = data.FrameTypeTimeSeriesWide
		return f, nil
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
