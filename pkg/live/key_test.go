package live

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

func TestKey(t *testing.T) {
	base := plan.Plan{Source: "kpi_rollup_1h", TimeColumn: "bucket", Bucket: 3600,
		TimeRange: plan.TimeRange{From: 3600, To: 7200}, Limit: 1001,
		Filters: []plan.Filter{{Column: "metric", Op: plan.OpIn, Values: plan.Strings("lead_time")}}}
	later := base
	later.TimeRange = plan.TimeRange{From: 7200, To: 10800}
	other := base
	other.Filters = []plan.Filter{{Column: "metric", Op: plan.OpIn, Values: plan.Strings("cycle_time")}}

	k := Key("kpi/timeseries", base)
	require.Equal(t, k, Key("kpi/timeseries", later), "the time range is not part of a channel")
	require.NotEqual(t, k, Key("kpi/table", base), "what the channel pushes is")
	require.NotEqual(t, k, Key("kpi/timeseries", other), "the filters are")

	got, err := ParsePath(Path(k))
	require.NoError(t, err)
	require.Equal(t, k, got)
	for _, bad := range []string{"", "live/", "live/" + k + "x", "other/" + k, "live/ABCDEFGHIJKLMNOPQRSTUVWXYZ", "live/../" + k[3:]} {
		_, err := ParsePath(bad)
		require.Error(t, err, bad)
	}
	require.LessOrEqual(t, len("ds/"+"a-forty-character-data-source-uid-000000/"+Path(k)), 160)
}

func FuzzParsePath(f *testing.F) {
	f.Add(Path(Key("k", plan.Plan{Source: "task_events"})))
	f.Add("live/")
	f.Add("live/aaaaaaaaaaaaaaaaaaaaaaaaaa/../x")
	f.Fuzz(func(t *testing.T, path string) {
		key, err := ParsePath(path)
		if err == nil && Path(key) != path {
			t.Fatalf("ParsePath(%q) = %q, which is not the same path", path, key)
		}
	})
}
