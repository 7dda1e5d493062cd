package frames

import (
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

func TestStreamingLabels(t *testing.T) {
	res := data.NewFrame("",
		data.NewField("time", nil, []time.Time{time.Unix(120, 0), time.Unix(60, 0)}),
		data.NewField("metric", nil, []string{"m", "m"}),
		data.NewField("label_0", nil, []string{`say "hi"`, "b\nc"}),
		data.NewField("v", nil, []*float64{nil, ptr(1.5)}),
	)
	f, err := StreamingLabels(res, map[string]string{"label_0": "k8s.io/zone"}, "v", "avg")
	require.NoError(t, err)
	require.Equal(t, []string{"labels", "time", "avg"}, []string{f.Fields[0].Name, f.Fields[1].Name, f.Fields[2].Name})
	require.Equal(t, `{metric="m", k8s_io_zone="b c"}`, f.Fields[0].At(0), "sorted by time; names and values kept readable by Grafana")
	require.Equal(t, `{metric="m", k8s_io_zone="say 'hi'"}`, f.Fields[0].At(1))
	require.Equal(t, 1.5, *f.Fields[2].At(0).(*float64))
	require.Nil(t, f.Fields[2].At(1))

	_, err = StreamingLabels(res, nil, "nope", "avg")
	require.ErrorContains(t, err, "expected the columns time and nope")
}

func ptr(f float64) *float64 { return &f }
