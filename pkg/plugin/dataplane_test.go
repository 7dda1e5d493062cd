package plugin_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

// dataplaneProblem checks a query's frames against the dataplane contract
// (grafana.com/developers/dataplane) as Grafana's server-side expressions
// read a data source's answer for an alert rule, and returns why they
// cannot drive one ("" when they can):
//
//   - Every frame carries the same dataplane type: timeseries-multi,
//     timeseries-wide, numeric-multi, numeric-wide or numeric-long (a long
//     time series, or an untyped table, makes Grafana fail with "input data
//     must be a wide series but got type long").
//   - No data is one frame of that type with no fields; a frame with fields
//     but no rows is an empty series.
//   - timeseries-multi: each frame one non-nullable time field and number
//     fields; timeseries-wide: one frame, one time field sorted ascending,
//     number fields with distinct labels, no string fields.
//   - numeric-multi: each frame number fields of one row; numeric-wide: one
//     frame of one row of number fields; numeric-long: one frame of number
//     fields and string fields (the labels), no time field, each row's
//     strings distinct.
func dataplaneProblem(frames data.Frames) string {
	if len(frames) == 0 {
		return "no frames: Grafana reads that as no data, but the contract wants one typed frame"
	}
	var typ data.FrameType
	for i, f := range frames {
		if f.Meta == nil || f.Meta.Type == "" {
			return fmt.Sprintf("frame %d has no dataplane type (Meta.Type)", i)
		}
		if i == 0 {
			typ = f.Meta.Type
		} else if f.Meta.Type != typ {
			return fmt.Sprintf("frame %d is %s, frame 0 %s: one type per response", i, f.Meta.Type, typ)
		}
	}
	if len(frames) == 1 && len(frames[0].Fields) == 0 {
		return "" // no data
	}
	kinds := func(f *data.Frame) (times, numbers, strs []*data.Field, other []string) {
		for _, fl := range f.Fields {
			switch {
			case fl.Type() == data.FieldTypeTime:
				times = append(times, fl)
			case fl.Type() == data.FieldTypeNullableTime:
				other = append(other, fl.Name+" (nullable time)")
			case fl.Type().Numeric():
				numbers = append(numbers, fl)
			case fl.Type() == data.FieldTypeString || fl.Type() == data.FieldTypeNullableString:
				strs = append(strs, fl)
			default:
				other = append(other, fmt.Sprintf("%s (%s)", fl.Name, fl.Type()))
			}
		}
		return
	}
	distinctLabels := func(numbers []*data.Field) string {
		seen := map[string]bool{}
		for _, n := range numbers {
			k := n.Name + n.Labels.String()
			if seen[k] {
				return "two number fields " + k + ": each series needs its own name and labels"
			}
			seen[k] = true
		}
		return ""
	}
	switch typ {
	case data.FrameTypeTimeSeriesMulti, data.FrameTypeTimeSeriesWide:
		if typ == data.FrameTypeTimeSeriesWide && len(frames) != 1 {
			return "timeseries-wide is one frame"
		}
		var all []*data.Field
		for i, f := range frames {
			times, numbers, strs, other := kinds(f)
			switch {
			case len(times) != 1:
				return fmt.Sprintf("frame %d has %d time fields; a time series has one", i, len(times))
			case len(numbers) == 0:
				return fmt.Sprintf("frame %d has no number field", i)
			case len(strs) > 0:
				return fmt.Sprintf("frame %d has string fields (%s): a long frame, which alerting refuses", i, strs[0].Name)
			case len(other) > 0:
				return fmt.Sprintf("frame %d has fields of other types: %s", i, strings.Join(other, ", "))
			}
			if typ == data.FrameTypeTimeSeriesWide {
				for r := 1; r < times[0].Len(); r++ {
					if times[0].At(r).(time.Time).Before(times[0].At(r - 1).(time.Time)) {
						return "timeseries-wide: the time field is not sorted ascending"
					}
				}
			}
			all = append(all, numbers...)
		}
		return distinctLabels(all)
	case data.FrameTypeNumericMulti, data.FrameTypeNumericWide, data.FrameTypeNumericLong:
		if typ != data.FrameTypeNumericMulti && len(frames) != 1 {
			return string(typ) + " is one frame"
		}
		var all []*data.Field
		for i, f := range frames {
			times, numbers, strs, other := kinds(f)
			switch {
			case len(times) > 0:
				return fmt.Sprintf("frame %d has a time field (%s): a numeric answer has none", i, times[0].Name)
			case len(numbers) == 0:
				return fmt.Sprintf("frame %d has no number field", i)
			case len(other) > 0:
				return fmt.Sprintf("frame %d has fields of other types: %s", i, strings.Join(other, ", "))
			case typ != data.FrameTypeNumericLong && len(strs) > 0:
				return fmt.Sprintf("frame %d has string fields: %s is numbers with labels", i, typ)
			case typ != data.FrameTypeNumericLong && f.Rows() > 1:
				return fmt.Sprintf("frame %d has %d rows: %s is one row", i, f.Rows(), typ)
			}
			if typ == data.FrameTypeNumericLong {
				seen := map[string]bool{}
				for r := 0; r < f.Rows(); r++ {
					var key []string
					for _, s := range strs {
						v, _ := s.ConcreteAt(r)
						key = append(key, s.Name+"="+fmt.Sprint(v))
					}
					sort.Strings(key)
					k := strings.Join(key, ",")
					if seen[k] {
						return "numeric-long: two rows with the labels {" + k + "}"
					}
					seen[k] = true
				}
			}
			all = append(all, numbers...)
		}
		return distinctLabels(all)
	}
	return fmt.Sprintf("type %s is not one alerting reads (timeseries-multi/wide, numeric-multi/wide/long)", typ)
}

func TestAlertableFollowsTheDataplaneContract(t *testing.T) {
	typed := func(typ data.FrameType, fields ...*data.Field) *data.Frame {
		f := data.NewFrame("", fields...)
		f.Meta = &data.FrameMeta{Type: typ, TypeVersion: data.FrameTypeVersion{0, 1}}
		return f
	}
	t0 := time.Unix(1_800_000_000, 0).UTC()
	ts := func() *data.Field { return data.NewField("time", nil, []time.Time{t0, t0.Add(time.Minute)}) }
	num := func(name string, labels data.Labels, vs ...float64) *data.Field {
		return data.NewField(name, labels, vs)
	}
	cases := []struct {
		name   string
		frames data.Frames
		want   string
	}{
		{"no data", data.Frames{typed(data.FrameTypeTimeSeriesMulti)}, ""},
		{"multi", data.Frames{typed(data.FrameTypeTimeSeriesMulti, ts(), num("v", data.Labels{"team": "a"}, 1, 2)),
			typed(data.FrameTypeTimeSeriesMulti, ts(), num("v", data.Labels{"team": "b"}, 1, 2))}, ""},
		{"wide with a string field (long)", data.Frames{typed(data.FrameTypeTimeSeriesWide, ts(), data.NewField("team", nil, []string{"a", "b"}), num("v", nil, 1, 2))}, "string fields"},
		{"untyped table", data.Frames{data.NewFrame("", num("v", nil, 1))}, "no dataplane type"},
		{"table type", data.Frames{typed(data.FrameTypeTable, num("v", nil, 1))}, "not one alerting reads"},
		{"numeric-long", data.Frames{typed(data.FrameTypeNumericLong, data.NewField("team", nil, []string{"a", "b"}), num("v", nil, 1, 2), num("n", nil, 3, 4))}, ""},
		{"numeric-long, repeated labels", data.Frames{typed(data.FrameTypeNumericLong, data.NewField("team", nil, []string{"a", "a"}), num("v", nil, 1, 2))}, "two rows"},
		{"numeric-long with time", data.Frames{typed(data.FrameTypeNumericLong, ts(), num("v", nil, 1, 2))}, "has a time field"},
		{"numeric-multi of two rows", data.Frames{typed(data.FrameTypeNumericMulti, num("v", nil, 1, 2))}, "is one row"},
		{"mixed types", data.Frames{typed(data.FrameTypeNumericMulti, num("v", nil, 1)), typed(data.FrameTypeTimeSeriesMulti, ts(), num("v", nil, 1, 2))}, "one type per response"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := dataplaneProblem(c.frames)
			if c.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, c.want)
		})
	}
}
