//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

// builderQuery is a builder query as Grafana sends it.
func (e *builderEnv) builderQuery(t *testing.T, refID, queryType string, body map[string]any, from, to time.Time, interval time.Duration) backend.DataQuery {
	t.Helper()
	body["refId"], body["queryType"] = refID, queryType
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	return backend.DataQuery{RefID: refID, QueryType: queryType, JSON: raw,
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: interval, MaxDataPoints: 1000}
}

// requireSameRows checks two frames hold the same fields and values.
func requireSameRows(t *testing.T, want, got *data.Frame) {
	t.Helper()
	require.Equal(t, want.Rows(), got.Rows())
	require.Len(t, got.Fields, len(want.Fields))
	for i, f := range want.Fields {
		require.Equal(t, f.Name, got.Fields[i].Name)
		require.Equal(t, f.Type(), got.Fields[i].Type(), f.Name)
		for j := 0; j < f.Len(); j++ {
			require.Equal(t, f.At(j), got.Fields[i].At(j), "%s row %d", f.Name, j)
		}
	}
}

func chunkNotices(frames data.Frames) string {
	var texts []string
	for _, f := range frames {
		if f.Meta != nil {
			for _, n := range f.Meta.Notices {
				texts = append(texts, n.Text)
			}
		}
	}
	return strings.Join(texts, "\n")
}

// TestIntegrationQueryChunkedData calls QueryChunkedData over gRPC as
// Grafana does: block-wise answers come as several chunks of one frame
// that add up to QueryData's frame; shapes needing the whole result answer
// in one chunk with a notice saying why; the row cap and errors arrive.
func TestIntegrationQueryChunkedData(t *testing.T) {
	e := setupBuilder(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tr := backend.TimeRange{From: builderNow.Add(-time.Hour), To: builderNow}
	from, to := builderNow.Add(-7*24*time.Hour+5*time.Hour), builderNow.Add(-2*time.Hour)

	t.Run("sql: one chunk per ClickHouse block, adding up to QueryData's frame", func(t *testing.T) {
		q := rawQuery("A", "SELECT number, toString(number) AS s, toDateTime(number) AS t FROM system.numbers LIMIT 100000 SETTINGS max_block_size = 10000", tr, nil)
		ans := e.p.QueryChunked(ctx, t, e.src, nil, q)
		require.Empty(t, ans.Errors)
		require.GreaterOrEqual(t, len(ans.Chunks), 10, "a chunk per block of 10,000 rows")
		for _, c := range ans.Chunks {
			require.Equal(t, "A", c.RefID)
			require.Equal(t, "rows", c.FrameID)
			require.LessOrEqual(t, c.Frame.Rows(), 10000)
		}
		require.Contains(t, ans.Chunks[0].Frame.Meta.ExecutedQueryString, "system.numbers")
		require.Equal(t, 1000, ans.Chunks[0].Frame.Rows(), "the first chunk goes before the whole first block is encoded")
		require.Equal(t, 9000, ans.Chunks[1].Frame.Rows(), "the rest of the first block follows")
		whole := e.p.QueryData(ctx, t, e.src, nil, q).Responses["A"]
		require.NoError(t, whole.Error)
		require.Len(t, ans.Frames["A"], 1)
		requireSameRows(t, whole.Frames[0], ans.Frames["A"][0])
	})

	t.Run("taskflow tasks and aging: block-wise, same rows as QueryData", func(t *testing.T) {
		for _, view := range []string{"tasks", "aging", "wip"} {
			q := e.builderQuery(t, "T", "taskflow", map[string]any{"view": view}, from, to, time.Hour)
			ans := e.p.QueryChunked(ctx, t, e.src, nil, q)
			require.Empty(t, ans.Errors, view)
			whole := e.p.QueryData(ctx, t, e.src, nil, q).Responses["T"]
			require.NoError(t, whole.Error)
			require.Len(t, ans.Frames["T"], 1, view)
			requireSameRows(t, whole.Frames[0], ans.Frames["T"][0])
			require.Equal(t, "rows", ans.Chunks[0].FrameID)
			require.Equal(t, chunkNotices(whole.Frames), chunkNotices(ans.Frames["T"]), "the same notices")
		}
	})

	t.Run("kpi time series and cumulative flow answer in one chunk and say why", func(t *testing.T) {
		for _, c := range []struct {
			typ  string
			body map[string]any
			why  string
		}{
			{"kpi", map[string]any{"metrics": []string{e.kpi[0].Metric}, "aggregation": "avg", "groupBy": []string{"team"}}, "long-to-multi"},
			{"taskflow", map[string]any{"view": "cfd"}, "whole result"},
			{"taskflow", map[string]any{"view": "cfd", "live": true}, "live query"},
		} {
			q := e.builderQuery(t, "K", c.typ, c.body, from, to, time.Hour)
			ans := e.p.QueryChunked(ctx, t, e.src, nil, q)
			require.Empty(t, ans.Errors)
			whole := e.p.QueryData(ctx, t, e.src, nil, q).Responses["K"]
			require.NoError(t, whole.Error)
			require.Len(t, ans.Frames["K"], len(whole.Frames))
			require.Len(t, ans.Chunks, len(whole.Frames), "each frame one chunk")
			for i := range whole.Frames {
				requireSameRows(t, whole.Frames[i], ans.Frames["K"][i])
			}
			require.Contains(t, chunkNotices(ans.Frames["K"]), c.why)
		}
	})

	t.Run("Max rows cuts the stream and a last frame says so", func(t *testing.T) {
		jd := e.db.JSONData()
		jd["maxRows"] = 25000
		capped := e.p.DataSource(t, jd, nil)
		q := rawQuery("A", "SELECT number FROM system.numbers LIMIT 100000 SETTINGS max_block_size = 10000", tr, nil)
		ans := e.p.QueryChunked(ctx, t, capped, nil, q)
		require.Empty(t, ans.Errors)
		require.Len(t, ans.Frames["A"], 2)
		require.Equal(t, 25000, ans.Frames["A"][0].Rows())
		last := ans.Chunks[len(ans.Chunks)-1]
		require.Equal(t, "cut", last.FrameID)
		require.Contains(t, chunkNotices(data.Frames{last.Frame}), "cut at 25000 rows")
	})

	t.Run("errors reach the query's refId; other queries still answer", func(t *testing.T) {
		ans := e.p.QueryChunked(ctx, t, e.src, nil,
			rawQuery("bad", "SELECT nope FROM system.one", tr, nil),
			e.builderQuery(t, "field", "taskflow", map[string]any{"view": "sideways"}, from, to, time.Hour),
			rawQuery("write", "INSERT INTO t VALUES (1)", tr, nil),
			rawQuery("good", "SELECT 1 AS one", tr, nil),
			backend.DataQuery{RefID: "what", QueryType: "nope", JSON: []byte(`{}`), TimeRange: tr})
		require.Contains(t, ans.Errors["bad"], "ClickHouse")
		require.Contains(t, ans.Errors["field"], "view")
		require.Contains(t, ans.Errors["write"], "read-only")
		require.Contains(t, ans.Errors["what"], "unknown query type")
		require.Empty(t, ans.Errors["good"])
		require.Equal(t, 1, ans.Frames["good"][0].Rows())
	})

	t.Run("Viewer may query; the forecast and dora types answer through QueryData", func(t *testing.T) {
		q := e.builderQuery(t, "D", "dora", map[string]any{"metric": "lead_time"}, e.ds.From, e.ds.To, time.Hour)
		ans := e.p.QueryChunked(ctx, t, e.src.WithRole("Viewer"), nil, q)
		whole := e.p.QueryData(ctx, t, e.src, nil, q).Responses["D"]
		require.NoError(t, whole.Error)
		require.Empty(t, ans.Errors)
		require.Len(t, ans.Frames["D"], len(whole.Frames))
	})
}
