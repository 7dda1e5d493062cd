package frames_test

import (
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
