//go:build integration

package plugin_test

import (
	"bytes"
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

// TestIntegrationEditorQueriesAccepted also holds the backend to
// src/capabilities.json, which decides whether the editor offers the Forecast
// type and the Live switch: what it offers must work, and what works should be
// offered.
//
// TestIntegrationEditorQueriesAccepted sends the query editor's default
// queries (src/types/default-queries.json, kept equal to the TypeScript
// defaults by a jest test) through the plugin protocol: what the editors
// produce must pass the backend's own validation.
//
// src/types/adhoc-example-queries.json (kept equal to what the DataSource's
// applyTemplateVariables produces by a jest test) adds dashboard ad hoc
// filters and $__conditionalAll as the browser forwards them.
func TestIntegrationEditorQueriesAccepted(t *testing.T) {
	defaults := readQueries(t, "default-queries.json")
	caps := readCapabilities(t)
	adhoc := readQueries(t, "adhoc-example-queries.json")

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
			if queryType == "forecast" && !caps.ForecastQueries {
				// The editor does not offer forecasts yet; a saved one
				// must be answered plainly rather than fail obscurely.
				require.ErrorContains(t, r.Error, `"forecast" is not available`)
				return
			}
			require.NoError(t, r.Error, "default %s query rejected: %s", queryType, body)
			require.NotEmpty(t, r.Frames)
		})
	}
	t.Run("live", func(t *testing.T) {
		q := defaults["taskflow"]
		q["refId"], q["live"] = "A", true
		body, err := json.Marshal(q)
		require.NoError(t, err)
		resp := p.QueryData(ctx, t, ds, nil, backend.DataQuery{
			RefID: "A", QueryType: "taskflow", JSON: body, Interval: time.Minute, MaxDataPoints: 1000,
			TimeRange: backend.TimeRange{From: now.Add(-24 * time.Hour), To: now},
		})
		r := resp.Responses["A"]
		require.NoError(t, r.Error)
		require.NotEmpty(t, r.Frames)
		channel := ""
		if r.Frames[0].Meta != nil {
			channel = r.Frames[0].Meta.Channel
		}
		if caps.LiveQueries {
			require.NotEmpty(t, channel, "src/capabilities.json says live queries work: the frame needs Meta.Channel")
		} else {
			require.Empty(t, channel, "live queries stream now: set liveQueries in src/capabilities.json so the editor offers the switch")
		}
	})
	for queryType, q := range adhoc {
		t.Run("adhoc "+queryType, func(t *testing.T) {
			body, err := json.Marshal(q)
			require.NoError(t, err)
			resp := p.QueryData(ctx, t, ds, nil, backend.DataQuery{
				RefID: "A", QueryType: queryType, JSON: body, Interval: time.Minute, MaxDataPoints: 1000,
				TimeRange: backend.TimeRange{From: now.Add(-24 * time.Hour), To: now},
			})
			r := resp.Responses["A"]
			require.NoError(t, r.Error, "%s query with ad hoc filters rejected: %s", queryType, body)
			if queryType == "sql" {
				executed := r.Frames[0].Meta.ExecutedQueryString
				require.Contains(t, executed, "1=1", "an All selection makes $__conditionalAll true")
				require.NotContains(t, executed, "$__")
			}
		})
	}
}

func readQueries(t *testing.T, name string) map[string]map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "src", "types", name))
	require.NoError(t, err)
	var queries map[string]map[string]any
	require.NoError(t, json.Unmarshal(raw, &queries))
	return queries
}

// capabilities mirrors src/capabilities.json (src/capabilities.ts).
type capabilities struct {
	ForecastQueries bool `json:"forecastQueries"`
	LiveQueries     bool `json:"liveQueries"`
}

func readCapabilities(t *testing.T) capabilities {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "src", "capabilities.json"))
	require.NoError(t, err)
	var c capabilities
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&c), "src/capabilities.json")
	return c
}
