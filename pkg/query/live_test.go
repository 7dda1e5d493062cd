package query

import (
	"context"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

func TestLiveStreams(t *testing.T) {
	ctx := context.Background()
	prepare := func(typ, body string, env Env) *Prepared {
		t.Helper()
		q, err := Parse(typ, []byte(body))
		require.NoError(t, err)
		pq, err := pipeline().Prepare(ctx, q, env)
		require.NoError(t, err)
		return pq
	}
	later := testEnv()
	later.From, later.To = later.From.Add(time.Hour), later.To.Add(time.Hour)

	t.Run("kpi: the final plan on the rollup, watching kpi_samples in the query's scope", func(t *testing.T) {
		body := `{"metrics":["m"],"aggregation":"sum","groupBy":["team"],"filters":[{"key":"team","operator":"=","value":"a"}],"interval":"1h","live":true}`
		pq := prepare(TypeKPI, body, testEnv())
		ls := pq.Live
		require.NotNil(t, ls)
		require.Equal(t, "kpi/timeseries", ls.Kind)
		require.Equal(t, pq.Plan, ls.Plan)
		require.Equal(t, schema.TableKPIRollup1h, ls.Plan.Source)
		require.True(t, ls.Settle, "rollups are filled by views after kpi_samples")
		require.Equal(t, schema.TableKPISamples, ls.Table)
		require.Equal(t, pq.Plan.Filters, ls.Scope)
		again := prepare(TypeKPI, body, later).Live
		require.Equal(t, ls.Plan.Filters, again.Plan.Filters)
		require.Equal(t, ls.Plan.Bucket, again.Plan.Bucket)
	})
	t.Run("kpi push reads the touched buckets again and shapes them as the answer", func(t *testing.T) {
		pq := prepare(TypeKPI, `{"metrics":["m"],"aggregation":"sum","interval":"1m","live":true}`, testEnv())
		rows := data.NewFrame("", data.NewField("ts", nil, []time.Time{time.Unix(130, 0), time.Unix(65, 0)}))
		var asked plan.Plan
		read := func(_ context.Context, p plan.Plan) (*data.Frame, error) {
			asked = p
			return data.NewFrame("", data.NewField("time", nil, []time.Time{time.Unix(60, 0)}),
				data.NewField("metric", nil, []string{"m"}), data.NewField("v", nil, []*float64{ptr(2.5)})), nil
		}
		out, err := pq.Live.Push(ctx, rows, read)
		require.NoError(t, err)
		require.Equal(t, plan.TimeRange{From: 60, To: 180}, asked.TimeRange)
		require.Len(t, out, 1)
		require.Equal(t, `{metric="m"}`, out[0].Fields[0].At(0))
		require.Equal(t, "sum", out[0].Fields[2].Name)
	})
	t.Run("taskflow: every view shares the scope's events channel; the answer starts with the events frame", func(t *testing.T) {
		var kinds []string
		var plans []plan.Plan
		for _, view := range Views() {
			pq := prepare(TypeTaskflow, `{"view":"`+view+`","projects":["p"],"live":true}`, testEnv())
			kinds, plans = append(kinds, pq.Live.Kind), append(plans, pq.Live.Plan)
		}
		for i := range kinds {
			require.Equal(t, kinds[0], kinds[i])
			require.Equal(t, plans[0], plans[i])
		}
		require.Equal(t, schema.TableTaskEvents, plans[0].Source)
		pq := prepare(TypeTaskflow, `{"view":"wip","projects":["p"],"live":true}`, testEnv())
		out, err := pq.Live.Answer(data.NewFrame("", data.NewField("state_category", nil, []string{"todo"}),
			data.NewField("state", nil, []string{"Backlog"}), data.NewField("tasks", nil, []uint64{3})))
		require.NoError(t, err)
		require.Len(t, out, 2)
		require.Equal(t, EventsFrameName, out[0].Name)
		require.Equal(t, 0, out[0].Rows())
		require.Equal(t, []string{"ts", "task_id", "project", "team", "title", "kind", "state", "state_category",
			"assignee", "points", "parent_id", "event_id"}, names(out[0]))
	})
	t.Run("dora has no live stream", func(t *testing.T) {
		require.Nil(t, prepare(TypeDORA, `{"metric":"lead_time","live":true}`, testEnv()).Live)
	})
}

func TestTouchedBuckets(t *testing.T) {
	at := func(secs ...int64) *data.Frame {
		ts := make([]time.Time, len(secs))
		for i, s := range secs {
			ts[i] = time.Unix(s, 0)
		}
		return data.NewFrame("", data.NewField("ts", nil, ts))
	}
	lo, hi, ok := touchedBuckets(at(3600*5+1, 3600*2), "ts", 3600)
	require.True(t, ok)
	require.Equal(t, []int64{7200, 6 * 3600}, []int64{lo, hi})
	lo, hi, _ = touchedBuckets(at(0, 5000*60+30), "ts", 60)
	require.Equal(t, int64(MaxLiveBuckets), (hi-lo)/60, "at most the newest MaxLiveBuckets")
	_, _, ok = touchedBuckets(at(), "ts", 60)
	require.False(t, ok)
}
