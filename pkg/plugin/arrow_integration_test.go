//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIntegrationArrowResource(t *testing.T) {
	e := setupBuilder(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	from, to := builderNow.Add(-7*24*time.Hour+5*time.Hour), builderNow.Add(-2*time.Hour)
	post := func(t *testing.T, body map[string]any) (int, []byte, string) {
		t.Helper()
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		r := e.p.CallResource(ctx, t, e.src, http.MethodPost, "arrow", nil, raw)
		return r.Status, r.Body, first(r.Headers["Content-Type"])
	}
	req := func(q map[string]any) map[string]any {
		return map[string]any{"query": q, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339), "intervalMs": 3600000}
	}

	t.Run("tasks: the same rows and notices as QueryData", func(t *testing.T) {
		status, body, ct := post(t, req(map[string]any{"refId": "T", "queryType": "taskflow", "view": "tasks"}))
		require.Equal(t, http.StatusOK, status, string(body))
		require.Equal(t, "application/vnd.apache.arrow.stream", ct)
		got := readArrowStreams(t, body)
		want := e.run(t, nil, "taskflow", map[string]any{"view": "tasks"}, from, to, time.Hour)
		require.Len(t, got, 1)
		requireSameRows(t, want.Frames[0], got[0])
		require.Equal(t, chunkNotices(want.Frames), chunkNotices(got))
		require.Contains(t, got[0].Meta.ExecutedQueryString, "tasks_current")
	})

	t.Run("a whole-result shape: one stream per frame, with the notice why", func(t *testing.T) {
		status, body, _ := post(t, req(map[string]any{"refId": "C", "queryType": "taskflow", "view": "cfd"}))
		require.Equal(t, http.StatusOK, status, string(body))
		got := readArrowStreams(t, body)
		want := e.run(t, nil, "taskflow", map[string]any{"view": "cfd"}, from, to, time.Hour)
		require.Len(t, got, len(want.Frames))
		requireSameRows(t, want.Frames[0], got[0])
		require.Contains(t, chunkNotices(got), "whole result")
	})

	t.Run("Max rows: a last stream carries the cut notice", func(t *testing.T) {
		jd := e.db.JSONData()
		jd["maxRows"] = 5
		capped := e.p.DataSource(t, jd, nil)
		raw, _ := json.Marshal(req(map[string]any{"refId": "T", "queryType": "taskflow", "view": "tasks"}))
		r := e.p.CallResource(ctx, t, capped, http.MethodPost, "arrow", nil, raw)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		got := readArrowStreams(t, r.Body)
		require.Len(t, got, 2)
		require.Equal(t, 5, got[0].Rows())
		require.Contains(t, chunkNotices(got[1:]), "cut at 5 rows")
	})

	t.Run("validation, roles and method", func(t *testing.T) {
		for _, c := range []struct {
			role   string
			method string
			body   string
			status int
			msg    string
		}{
			{"Viewer", http.MethodPost, `{"query":{"queryType":"taskflow","view":"sideways"},"from":"2026-11-10T00:00:00Z","to":"2026-11-11T00:00:00Z"}`, 400, "view"},
			{"Viewer", http.MethodPost, `{"query":{"queryType":"taskflow"},"from":"then","to":"2026-11-11T00:00:00Z"}`, 400, "from:"},
			{"Viewer", http.MethodPost, `{"query":{"queryType":"sql","rawSql":"INSERT INTO t VALUES (1)"},"from":"2026-11-10T00:00:00Z","to":"2026-11-11T00:00:00Z"}`, 400, "read-only"},
			{"None", http.MethodPost, `{}`, 403, "Viewer"},
			{"Viewer", http.MethodGet, ``, 405, "POST"},
		} {
			r := e.p.CallResource(ctx, t, e.src.WithRole(c.role), c.method, "arrow", nil, []byte(c.body))
			require.Equal(t, c.status, r.Status, "%s %s", c.body, r.Body)
			require.Contains(t, string(r.Body), c.msg)
		}
	})
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
