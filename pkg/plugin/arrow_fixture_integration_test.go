//go:build integration

package plugin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
	"github.com/kpiflow/kpiflow/pkg/plugin"
)

// fixtureTask is one task event the Arrow fixture is made of.
type fixtureTask struct {
	id, title, kind, state, category, assignee, parent string
	points                                             float64
	ts                                                 time.Time
}

// fixtureTasks: a title with <script> (it must stay text in the panel),
// unicode in several scripts and an emoji, quotes and a newline, empty
// strings (which the raw SQL stream turns into nulls).
var fixtureTasks = []fixtureTask{
	{"FIX-1", "<script>window.__pwned = 1</script>Fix login", "bug", "In Progress", "in_progress", "alice", "", 3, time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)},
	{"FIX-2", "Résumé: 日本語のタスク, Ελληνικά, עברית 🚀", "story", "To Do", "todo", "", "FIX-1", 0, time.Date(2026, 11, 4, 10, 30, 0, 0, time.UTC)},
	{"FIX-3", "", "chore", "Done", "done", "bob", "", 1.5, time.Date(2026, 11, 5, 11, 0, 0, 0, time.UTC)},
	{"FIX-4", "Line one\nline \"two\" & <b>bold</b>", "story", "Review", "in_progress", "zoë", "FIX-1", 8, time.Date(2026, 11, 6, 12, 0, 0, 0, time.UTC)},
}

// fixtureSQL is a task list from raw SQL, where columns can be NULL: empty
// titles, assignees and parents and zero points become nulls.
const fixtureSQL = "SELECT task_id, nullIf(title, '') AS title, nullIf(assignee, '') AS assignee, " +
	"nullIf(points, 0) AS points, nullIf(parent_id, '') AS parent_id, ts FROM tasks_current FINAL " +
	"WHERE project = 'FIX' ORDER BY task_id"

// TestIntegrationArrowTaskFixture generates the Arrow IPC fixture both
// decoders are tested on: the POST arrow bodies of the taskflow tasks view
// and of a raw SQL task list with nulls, as the plugin answers them over
// the plugin protocol, back to back in tests/fixtures/tasks.arrows (with
// KPIFLOW_WRITE_FIXTURES=1), and the rows arrow-go's IPC reader reads from
// them in tests/fixtures/tasks.expected.json. apache-arrow decodes the same
// file in Node (src/panels/taskflow/arrow.test.ts) and must read the same
// rows; the 1M-row benchmark frame takes its schema from it
// (TestArrowBenchData). Without KPIFLOW_WRITE_FIXTURES the committed files
// must still match what the plugin answers.
func TestIntegrationArrowTaskFixture(t *testing.T) {
	st, db := chtest.MigratedStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, st.InsertBatch(ctx, "task_events", []string{"ts", "task_id", "project", "team", "title", "kind", "state",
		"state_category", "assignee", "points", "parent_id", "blocked_by", "event_id", "batch_id"}, func(b driver.Batch) error {
		for _, k := range fixtureTasks {
			if err := b.Append(k.ts, k.id, "FIX", "payments", k.title, k.kind, k.state, k.category, k.assignee, k.points,
				k.parent, []string{}, "fixture-"+k.id, "fixture"); err != nil {
				return err
			}
		}
		return nil
	}))
	p := plugintest.Start(t)
	src := p.DataSource(t, db.JSONData(), nil)
	post := func(query map[string]any) []byte {
		t.Helper()
		raw, err := json.Marshal(map[string]any{"query": query, "from": "2026-11-01T00:00:00Z", "to": "2026-11-28T00:00:00Z", "intervalMs": 3600000})
		require.NoError(t, err)
		r := p.CallResource(ctx, t, src.WithRole("Viewer"), http.MethodPost, "arrow", nil, raw)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, plugin.ArrowContentType, first(r.Headers["Content-Type"]))
		// The executed SQL names no database: the bytes are the same on every run.
		return r.Body
	}
	body := append(post(map[string]any{"refId": "T", "queryType": "taskflow", "view": "tasks", "projects": []string{"FIX"}}),
		post(map[string]any{"refId": "S", "queryType": "sql", "format": "table", "rawSql": fixtureSQL})...)

	// arrow-go reads what the test wrote into ClickHouse.
	frames := readArrowStreams(t, body)
	require.Len(t, frames, 2)
	tasks, nullable := frames[0], frames[1]
	require.Equal(t, len(fixtureTasks), tasks.Rows())
	byID := map[string]fixtureTask{}
	for _, k := range fixtureTasks {
		byID[k.id] = k
	}
	col := func(name string) int {
		_, i := tasks.FieldByName(name)
		require.GreaterOrEqual(t, i, 0, name)
		return i
	}
	for i := 0; i < tasks.Rows(); i++ {
		k := byID[tasks.Fields[col("task_id")].At(i).(string)]
		require.Equal(t, k.title, tasks.Fields[col("title")].At(i), "title of %s", k.id)
		require.Equal(t, k.assignee, tasks.Fields[col("assignee")].At(i), "assignee of %s", k.id)
		require.True(t, k.ts.Equal(tasks.Fields[col("ts")].At(i).(time.Time)), "ts of %s", k.id)
	}
	require.NotNil(t, tasks.Meta)
	require.NotEmpty(t, tasks.Meta.Notices, "the tasks view's notice travels in the schema metadata")
	_, ti := nullable.FieldByName("title")
	require.True(t, nullable.Fields[ti].Nullable(), "raw SQL nullIf gives a nullable title")
	nulls := 0
	for _, f := range nullable.Fields {
		for i := 0; i < f.Len(); i++ {
			if v, ok := f.ConcreteAt(i); !ok || v == nil {
				nulls++
			}
		}
	}
	require.Positive(t, nulls, "the raw SQL stream has nulls")

	expected, err := json.MarshalIndent(map[string]any{"frames": []any{arrowFixtureRows(t, tasks), arrowFixtureRows(t, nullable)}}, "", "  ")
	require.NoError(t, err)
	expected = append(expected, '\n')
	dir := filepath.Join("..", "..", "tests", "fixtures")
	if os.Getenv("KPIFLOW_WRITE_FIXTURES") == "1" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, plugin.ArrowTaskFixture), body, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, plugin.ArrowTaskFixtureRows), expected, 0o644))
		t.Logf("wrote %s and %s", plugin.ArrowTaskFixture, plugin.ArrowTaskFixtureRows)
		return
	}
	want, err := os.ReadFile(filepath.Join(dir, plugin.ArrowTaskFixtureRows))
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(expected), "tests/fixtures is stale: run with KPIFLOW_WRITE_FIXTURES=1")
}
