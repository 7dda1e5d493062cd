package query

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// Built is a builder's output: the plan on the raw tables, its notices and
// how to turn the result into the frames Grafana gets. Pipeline.Prepare
// takes it from there.
type Built struct {
	Plan plan.Plan
	// Notices are sentences for the frames' notices (the table chosen and why,
	// approximations, definitions applied).
	Notices []string
	shape   func(res *data.Frame) (data.Frames, error)
}

// column finds a result field by name.
func column(res *data.Frame, name string) (*data.Field, error) {
	for _, f := range res.Fields {
		if f.Name == name {
			return f, nil
		}
	}
	return nil, fmt.Errorf("shape result: no column %q", name)
}

// timeAt reads a DateTime cell (time.Time or *time.Time; nil as zero).
func timeAt(f *data.Field, i int) time.Time {
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

// stringAt reads a String or Enum cell.
func stringAt(f *data.Field, i int) string {
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

// floatAt reads a numeric cell; NULL and NaN read as nil.
func floatAt(f *data.Field, i int) *float64 {
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

// longToMulti splits a long result (time, group columns, value) into one
// frame per series: a time field and a value field labelled with the
// groups (Meta.Type timeseries-multi), which is what multi-dimensional alert
// rules and SQL Expressions read. names maps a group column to its label
// name; the "metric" column, when present, names the value field. unit is the
// value's unit ("" for none).
func longToMulti(res *data.Frame, names map[string]string, valueCol, unit string) (data.Frames, error) {
	tf, err := column(res, "time")
	if err != nil {
		return nil, err
	}
	vf, err := column(res, valueCol)
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
			v := stringAt(g, i)
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
		s.times = append(s.times, timeAt(tf, i))
		s.values = append(s.values, floatAt(vf, i))
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

// renameTable returns the long result with group columns renamed to what a
// person reads (label keys instead of label_0).
func renameTable(res *data.Frame, names map[string]string) *data.Frame {
	for _, f := range res.Fields {
		if n, ok := names[f.Name]; ok && n != "" {
			f.Name = n
		}
	}
	asTable(res)
	return res
}

// asTable marks a frame as a table, which is also how panels should show it.
func asTable(f *data.Frame) {
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTable, PreferredVisualization: data.VisTypeTable}
}

// fillSeries gives every series of timeseries-multi frames a point at each
// bucket start in [from, to), with value where it had none. Frames without
// rows (the empty response) stay as they are.
func fillSeries(frames data.Frames, from, to, bucket int64, value float64) data.Frames {
	if bucket <= 0 || (to-from)/bucket > 100_000 {
		return frames
	}
	for _, f := range frames {
		if f.Rows() == 0 || len(f.Fields) != 2 {
			continue
		}
		have := map[int64]*float64{}
		for i := 0; i < f.Rows(); i++ {
			have[timeAt(f.Fields[0], i).Unix()] = floatAt(f.Fields[1], i)
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
