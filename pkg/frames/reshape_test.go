package frames_test

import (
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/frames"
)

func day0(d int) time.Time { return time.Unix(1_790_000_000/86400*86400+int64(d)*86400, 0).UTC() }

func TestLongToMultiSplitsSeries(t *testing.T) {
	res := data.NewFrame("",
		data.NewField("time", nil, []time.Time{day0(0), day0(0), day0(1)}),
		data.NewField("metric", nil, []string{"m", "m", "m"}),
		data.NewField("label_0", nil, []string{"eu", "us", "eu"}),
		data.NewField("v", nil, []float64{1, 2, 3}),
	)
	series, err := frames.LongToMulti(res, map[string]string{"label_0": "region"}, "v", "")
	require.NoError(t, err)
	require.Len(t, series, 2)
	require.Equal(t, data.FrameTypeTimeSeriesMulti, series[0].Meta.Type)
	require.Equal(t, "m", series[0].Fields[1].Name)
	require.Equal(t, data.Labels{"region": "eu"}, series[0].Fields[1].Labels)
	require.Equal(t, 2, series[0].Rows())
	require.Equal(t, data.Labels{"region": "us"}, series[1].Fields[1].Labels)

	filled := frames.FillSeries(series, day0(0).Unix(), day0(3).Unix(), 86400, 0)
	require.Equal(t, 3, filled[1].Rows(), "us gets 0 on the days it had none")
	v, _ := filled[1].Fields[1].ConcreteAt(2)
	require.Equal(t, 0.0, v)
}

func TestLongToMultiByColumn(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	nan := math.NaN()
	one := 1.0
	t.Run("series gathered in row order, sorted by their group values", func(t *testing.T) {
		res := data.NewFrame("",
			data.NewField("time", nil, []time.Time{day0(0).In(berlin), day0(0), day0(1), day0(1), day0(2)}),
			data.NewField("metric", nil, []string{"b", "a", "b", "a", "b"}),
			data.NewField("service", nil, []*string{pointer("x"), pointer("x"), pointer("x"), nil, pointer("x")}),
			data.NewField("v", nil, []float64{1, 2, 3, 4, 5}),
		)
		series, err := frames.LongToMulti(res, nil, "v", "ms")
		require.NoError(t, err)
		require.Len(t, series, 3)
		// Keys: "a\0\0" (NULL service) < "a\0x\0" < "b\0x\0".
		require.Equal(t, []string{"a", "a", "b"}, []string{series[0].Name, series[1].Name, series[2].Name})
		require.Equal(t, data.Labels{"service": ""}, series[0].Fields[1].Labels)
		require.Equal(t, data.Labels{"service": "x"}, series[2].Fields[1].Labels)
		require.Equal(t, "ms", series[2].Fields[1].Config.Unit)
		b := series[2]
		require.Equal(t, data.FieldTypeFloat64, b.Fields[1].Type(), "no NULL or NaN: a non-nullable field")
		require.Equal(t, []any{1.0, 3.0, 5.0}, []any{b.Fields[1].At(0), b.Fields[1].At(1), b.Fields[1].At(2)})
		require.Equal(t, day0(0), b.Fields[0].At(0), "times in UTC")
		require.Equal(t, time.UTC, b.Fields[0].At(0).(time.Time).Location())
		require.Equal(t, day0(2), b.Fields[0].At(2))
	})
	t.Run("NULL, NaN and infinite values make that series nullable", func(t *testing.T) {
		res := data.NewFrame("",
			data.NewField("time", nil, []time.Time{day0(0), day0(0), day0(1), day0(1)}),
			data.NewField("team", nil, []string{"a", "b", "a", "b"}),
			data.NewField("v", nil, []*float64{&one, &nan, nil, &one}),
		)
		series, err := frames.LongToMulti(res, map[string]string{"team": "owner"}, "v", "")
		require.NoError(t, err)
		require.Len(t, series, 2)
		require.Equal(t, "v", series[0].Fields[1].Name)
		require.Equal(t, data.Labels{"owner": "a"}, series[0].Fields[1].Labels)
		require.Equal(t, data.FieldTypeNullableFloat64, series[0].Fields[1].Type())
		require.Equal(t, &one, series[0].Fields[1].At(0))
		require.Nil(t, series[0].Fields[1].At(1))
		require.Nil(t, series[1].Fields[1].At(0), "NaN becomes null")
		require.Equal(t, &one, series[1].Fields[1].At(1))
	})
	t.Run("counts (UInt64) become float64", func(t *testing.T) {
		res := data.NewFrame("",
			data.NewField("time", nil, []time.Time{day0(0)}),
			data.NewField("n", nil, []uint64{7}),
		)
		series, err := frames.LongToMulti(res, nil, "n", "")
		require.NoError(t, err)
		require.Equal(t, 7.0, series[0].Fields[1].At(0))
	})
	t.Run("no rows", func(t *testing.T) {
		res := data.NewFrame("", data.NewField("time", nil, []time.Time{}), data.NewField("v", nil, []float64{}))
		series, err := frames.LongToMulti(res, nil, "v", "")
		require.NoError(t, err)
		require.Len(t, series, 1)
		require.Equal(t, 0, series[0].Rows())
	})
}

func pointer[T any](v T) *T { return &v }

func TestTimeSeries(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	t.Run("long becomes wide with labels, sorted", func(t *testing.T) {
		f := data.NewFrame("",
			data.NewField("time", nil, []time.Time{at(60), at(0), at(0), at(60)}),
			data.NewField("team", nil, []string{"a", "a", "b", "b"}),
			data.NewField("value", nil, []float64{2, 1, 10, 20}))
		f.Meta = &data.FrameMeta{ExecutedQueryString: "SELECT"}
		w, err := frames.TimeSeriesWide(f, 100)
		require.NoError(t, err)
		require.Equal(t, data.FrameTypeTimeSeriesWide, w.Meta.Type)
		require.Equal(t, "SELECT", w.Meta.ExecutedQueryString)
		require.Len(t, w.Fields, 3)
		require.Equal(t, at(0), w.Fields[0].At(0))
		require.Equal(t, data.Labels{"team": "a"}, w.Fields[1].Labels)
		require.Equal(t, 1.0, w.Fields[1].At(0))
		require.Equal(t, 20.0, w.Fields[2].At(1))
	})

	t.Run("wide stays wide", func(t *testing.T) {
		f := data.NewFrame("",
			data.NewField("time", nil, []time.Time{at(60), at(0)}),
			data.NewField("value", nil, []*float64{nil, new(float64)}))
		f.Meta = &data.FrameMeta{}
		w, err := frames.TimeSeriesWide(f, 100)
		require.NoError(t, err)
		require.Equal(t, data.FrameTypeTimeSeriesWide, w.Meta.Type)
		require.Equal(t, at(0), w.Fields[0].At(0))
		require.NotNil(t, w.Fields[1].At(0))
		require.Nil(t, w.Fields[1].At(1))
	})

	t.Run("no time column", func(t *testing.T) {
		f := data.NewFrame("", data.NewField("team", nil, []string{"a"}))
		f.Meta = &data.FrameMeta{}
		_, err := frames.TimeSeriesWide(f, 100)
		require.ErrorContains(t, err, "team (string)")
	})

	t.Run("too many series", func(t *testing.T) {
		times := make([]time.Time, 50)
		teams := make([]string, 50)
		values := make([]float64, 50)
		for i := range times {
			times[i] = at(i)
			teams[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		f := data.NewFrame("", data.NewField("time", nil, times), data.NewField("team", nil, teams), data.NewField("v", nil, values))
		f.Meta = &data.FrameMeta{}
		_, err := frames.TimeSeriesWide(f, 1) // 20 cells allowed
		require.ErrorContains(t, err, "format: timeseries")
	})
}
