//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// TestIntegrationEditorQueriesAccepted sends the query editor's default
// queries (src/types/default-queries.json, kept equal to the TypeScript
// defaults by a jest test) through the plugin protocol: what the editors
// produce must pass the backend's own validation.
func TestIntegrationEditorQueriesAccepted(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "src", "types", "default-queries.json"))
	require.NoError(t, err)
	var defaults map[string]map[string]any
	require.NoError(t, json.Unmarshal(raw, &defaults))

	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ds := p.DataSource(t, db.JSONData(), nil)
	res := p.CallResource(ctx, t, ds.WithRole("Admin"), "POST", "admin/migrate", nil, nil)
	require.Equal(t, 200, res.Status, string(res.Body))

	now := time.Now()
	for queryType, q := range defaults {
		t.Run(queryType, func(t *testing.T) {
			q["refId"] = "A"
			// The editor sends a kpi query only once a metric is picked
			// (DataSource.filterQuery), so pick one as a user would.
			if queryType == "kpi" {
				q["metrics"] = []string{"latency_p95_ms"}
			}
			body, err := json.Marshal(q)
			require.NoError(t, err)
			resp := p.QueryData(ctx, t, ds, nil, backend.DataQuery{
				RefID: "A", QueryType: queryType, JSON: body, Interval: time.Minute, MaxDataPoints: 1000,
				TimeRange: backend.TimeRange{From: now.Add(-24 * time.Hour), To: now},
			})
			r := resp.Responses["A"]
			if queryType == "forecast" {
				// Forecasts come with their own issue; until then the answer
				// must say so plainly rather than fail obscurely.
				require.ErrorContains(t, r.Error, `"forecast" is not available`)
				return
			}
			require.NoError(t, r.Error, "default %s query rejected: %s", queryType, body)
			require.NotEmpty(t, r.Frames)
		})
	}
}
