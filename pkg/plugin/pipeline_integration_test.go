//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// TestIntegrationQueriesOfARequestRunConcurrently sends one request with two
// slow queries (3 s each; 18.16's sleep takes at most 3 s per block) through
// Grafana's plugin protocol: it answers in about the time of one, not of
// both, and every answer is under its own refId.
func TestIntegrationQueriesOfARequestRunConcurrently(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ds := p.DataSource(t, db.JSONData(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Warm up: the instance, its pool and the server's version.
	r := p.QueryData(ctx, t, ds, nil, rawQuery("W", "SELECT 1", backend.TimeRange{}, nil)).Responses["W"]
	require.NoError(t, r.Error)

	start := time.Now()
	resp := p.QueryData(ctx, t, ds, nil,
		rawQuery("A", "SELECT sleep(3) AS slept, 'a' AS q", backend.TimeRange{}, nil),
		rawQuery("B", "SELECT sleep(3) AS slept, 'b' AS q", backend.TimeRange{}, nil),
		rawQuery("C", "SELECT 'c' AS q", backend.TimeRange{}, nil))
	took := time.Since(start)
	t.Logf("two 3 s queries and a quick one answered in %v", took)
	require.Len(t, resp.Responses, 3)
	for _, ref := range []string{"A", "B", "C"} {
		r := resp.Responses[ref]
		require.NoError(t, r.Error, ref)
		q := r.Frames[0].Fields[len(r.Frames[0].Fields)-1]
		require.Equal(t, "q", q.Name)
		require.Equal(t, string(rune('a'+ref[0]-'A')), q.At(0), "%s's own answer", ref)
	}
	require.GreaterOrEqual(t, took, 3*time.Second)
	require.Less(t, took, 5500*time.Millisecond, "one after the other would take 6 s")
}

// TestIntegrationBuilderQueryWithoutSchema: the server's catalog has no
// kpiflow table, and the answer says how to install the schema.
func TestIntegrationBuilderQueryWithoutSchema(t *testing.T) {
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ds := p.DataSource(t, db.JSONData(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	raw, _ := json.Marshal(map[string]any{"metrics": []string{"m"}, "aggregation": "avg"})
	now := time.Now()
	r := p.QueryData(ctx, t, ds, nil, backend.DataQuery{RefID: "A", QueryType: "kpi", JSON: raw,
		TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now}, Interval: time.Minute}).Responses["A"]
	require.ErrorContains(t, r.Error, "kpiflow's table kpi_samples is not in the database: apply the schema with POST admin/migrate")
	require.Equal(t, backend.StatusBadRequest, r.Status)
	require.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)

	// Once migrated, the next query finds the tables at once (no 30 s wait
	// for the cached catalog).
	res := p.CallResource(ctx, t, ds.WithRole("Admin"), "POST", "admin/migrate", nil, nil)
	require.Equal(t, 200, res.Status, string(res.Body))
	r = p.QueryData(ctx, t, ds, nil, backend.DataQuery{RefID: "A", QueryType: "kpi", JSON: raw,
		TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now}, Interval: time.Minute}).Responses["A"]
	require.NoError(t, r.Error)
}
