package frames_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
)

// BenchmarkLongToMulti reshapes a kpi result the size of "avg by service
// over 30 days at 1m" (8 services × 8,640 buckets = 69,120 rows, ordered by
// time) with LongToMulti and, as the baseline in the same run, with the
// row-by-row implementation it replaced, and reports the ratio.
//
//	go test -run '^$' -bench LongToMulti -benchtime 20x ./pkg/frames/
func BenchmarkLongToMulti(b *testing.B) {
	const services, buckets = 8, 8640
	n := services * buckets
	times, metrics, svc, values := make([]time.Time, n), make([]string, n), make([]string, n), make([]float64, n)
	for i := range n {
		times[i] = time.Unix(1_790_000_000+int64(i/services)*60, 0).UTC()
		metrics[i], svc[i], values[i] = "latency_p95_ms", fmt.Sprintf("svc-%d", i%services), float64(i%997)/3
	}
	res := data.NewFrame("", data.NewField("time", nil, times), data.NewField("metric", nil, metrics),
		data.NewField("service", nil, svc), data.NewField("v", nil, values))
	names := map[string]string{"metric": "metric", "service": "service"}
	var byColumn, rowWise time.Duration
	for b.Loop() {
		t0 := time.Now()
		a, err := frames.LongToMulti(res, names, "v", "")
		t1 := time.Now()
		c, err2 := rowWiseLongToMulti(res, names, "v", "")
		rowWise, byColumn = rowWise+time.Since(t1), byColumn+t1.Sub(t0)
		if err != nil || err2 != nil || len(a) != services || len(c) != services || a[0].Rows() != c[0].Rows() {
			b.Fatalf("results differ: %v %v", err, err2)
		}
	}
	b.ReportMetric(float64(byColumn.Microseconds())/1000/float64(b.N), "by_column_ms")
	b.ReportMetric(float64(rowWise.Microseconds())/1000/float64(b.N), "row_wise_ms")
	b.ReportMetric(float64(rowWise)/float64(byColumn), "speedup_x")
}

// rowWiseLongToMulti is the row-by-row LongToMulti this package had before
// (a labels map, a key string and a boxed value per row), kept as the
// benchmark's baseline. It splits a long result (time, group columns, value) into one
// frame per series: a time field and a value field labelled with the
// groups (Meta.Type timeseries-multi), which is what multi-dimensional alert
// rules and SQL Expressions read. names maps a group column to its label
// name; the "metric" column, when present, names the value field. unit is the
// value's unit ("" for none).
func rowWiseLongToMulti(res *data.Frame, names map[string]string, valueCol, unit string) (data.Frames, error) {
	tf, err := frames.Field(res, "time")
	if err != nil {
		return nil, err
	}
	vf, err := frames.Field(res, valueCol)
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
			v := frames.StringAt(g, i)
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
		s.times = append(s.times, frames.TimeAt(tf, i))
		s.values = append(s.values, frames.FloatAt(vf, i))
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
