package query

import (
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

func day0(d int) time.Time { return time.Unix(1_790_000_000/86400*86400+int64(d)*86400, 0).UTC() }

func TestCFDReplaysStatesOverDays(t *testing.T) {
	// Task a: todo on day 0, in_progress on day 2, done on day 3.
	// Task b: appears on day 1 in todo and stays there.
	res := data.NewFrame("",
		data.NewField("time", nil, []time.Time{day0(0), day0(2), day0(3), day0(1)}),
		data.NewField("task_id", nil, []string{"a", "a", "a", "b"}),
		data.NewField("category", nil, []string{"todo", "in_progress", "done", "todo"}),
	)
	frames, err := cfdFrame(res, day0(0).Unix(), day0(4).Unix())
	require.NoError(t, err)
	f := frames[0]
	require.Equal(t, 5, f.Rows())
	col := func(i int) []float64 {
		out := make([]float64, f.Rows())
		for r := range out {
			out[r] = f.Fields[i].At(r).(float64)
		}
		return out
	}
	require.Equal(t, []float64{1, 2, 1, 1, 1}, col(1), "todo")
	require.Equal(t, []float64{0, 0, 1, 0, 0}, col(2), "in_progress")
	require.Equal(t, []float64{0, 0, 0, 1, 1}, col(3), "done")
}

func TestThroughputFillsZeroDays(t *testing.T) {
	res := data.NewFrame("",
		data.NewField("time", nil, []time.Time{day0(1), day0(3)}),
		data.NewField("throughput", nil, []uint64{2, 5}),
	)
	frames, err := throughputFrame(res, day0(0).Unix(), day0(3).Unix())
	require.NoError(t, err)
	f := frames[0]
	got := make([]float64, f.Rows())
	for i := range got {
		got[i] = f.Fields[1].At(i).(float64)
	}
	require.Equal(t, []float64{0, 2, 0, 5}, got)
}
