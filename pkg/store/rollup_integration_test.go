//go:build integration

package store_test

import (
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// TestIntegrationRollupsAndTasksCurrent inserts samples and task events the
// way ingest does and reads what the materialized views made of them.
func TestIntegrationRollupsAndTasksCurrent(t *testing.T) {
	db := chtest.NewDatabase(t)
	st := openStore(t, db.Settings(t))
	ctx := testCtx(t)
	_, err := st.Migrate(ctx)
	require.NoError(t, err)

	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	type sample struct {
		at    time.Duration
		team  string
		value float64
	}
	samples := []sample{
		{10 * time.Second, "core", 4}, // hour 10:00
		{20 * time.Second, "core", 1},
		{50 * time.Second, "core", 7},
		{70 * time.Second, "core", 2},  // the latest of hour 10:00
		{2 * time.Hour, "core", 10},    // hour 12:00
		{30 * time.Second, "web", 100}, // another team
		{26 * time.Hour, "core", 5},    // next day
	}
	kpi, _ := schema.Lookup(schema.TableKPISamples)
	require.NoError(t, st.InsertBatch(ctx, kpi.Name, kpi.InsertColumns(), func(b driver.Batch) error {
		for i, s := range samples {
			if err := b.Append(base.Add(s.at), "lead_time", s.value, s.team, "kpiflow", "api", "prod", "ci",
				[]string{"region"}, []string{"eu"}, "e"+string(rune('a'+i)), "b1"); err != nil {
				return err
			}
		}
		return nil
	}))

	type agg struct {
		Bucket   time.Time
		Cnt      uint64
		Sum      float64
		Min, Max float64
		Q        []float64
		Last     float64
	}
	read := func(table, team string) []agg {
		t.Helper()
		rows, err := db.Conn.Query(ctx, `SELECT bucket, countMerge(cnt), sumMerge(sum), minMerge(min), maxMerge(max),
			quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(q), argMaxMerge(last)
			FROM `+db.Name+`.`+table+` WHERE metric = 'lead_time' AND team = ? GROUP BY bucket ORDER BY bucket`, team)
		require.NoError(t, err)
		defer rows.Close()
		var out []agg
		for rows.Next() {
			var a agg
			require.NoError(t, rows.Scan(&a.Bucket, &a.Cnt, &a.Sum, &a.Min, &a.Max, &a.Q, &a.Last))
			a.Bucket = a.Bucket.UTC()
			out = append(out, a)
		}
		require.NoError(t, rows.Err())
		return out
	}
	// A t-digest is exact for a single value, so the one-sample buckets pin
	// the quantiles; the others check their length.
	h := read(schema.TableKPIRollup1h, "core")
	require.Len(t, h, 3)
	require.Len(t, h[0].Q, 4)
	require.Equal(t, agg{Bucket: base, Cnt: 4, Sum: 14, Min: 1, Max: 7, Q: h[0].Q, Last: 2}, h[0], "argMax keeps the latest sample's value")
	require.Equal(t, agg{Bucket: base.Add(2 * time.Hour), Cnt: 1, Sum: 10, Min: 10, Max: 10, Q: []float64{10, 10, 10, 10}, Last: 10}, h[1])

	d := read(schema.TableKPIRollup1d, "core")
	require.Len(t, d, 2)
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	require.Equal(t, agg{Bucket: day, Cnt: 5, Sum: 24, Min: 1, Max: 10, Q: d[0].Q, Last: 10}, d[0])
	require.Equal(t, agg{Bucket: day.AddDate(0, 0, 1), Cnt: 1, Sum: 5, Min: 5, Max: 5, Q: []float64{5, 5, 5, 5}, Last: 5}, d[1])

	web := read(schema.TableKPIRollup1d, "web")
	require.Equal(t, []agg{{Bucket: day, Cnt: 1, Sum: 100, Min: 100, Max: 100, Q: []float64{100, 100, 100, 100}, Last: 100}}, web)

	// A second batch into the same bucket merges with the first.
	require.NoError(t, st.InsertBatch(ctx, kpi.Name, kpi.InsertColumns(), func(b driver.Batch) error {
		return b.Append(base.Add(5*time.Second), "lead_time", 20.0, "core", "kpiflow", "api", "prod", "ci",
			[]string{}, []string{}, "ez", "b2")
	}))
	h = read(schema.TableKPIRollup1h, "core")
	require.Equal(t, agg{Bucket: base, Cnt: 5, Sum: 34, Min: 1, Max: 20, Q: h[0].Q, Last: 2}, h[0], "the later sample in the bucket stays last")

	// tasks_current keeps the latest event per task.
	te, _ := schema.Lookup(schema.TableTaskEvents)
	type ev struct {
		at          time.Duration
		task, state string
		category    string
		points      float64
	}
	events := []ev{
		{0, "T-1", "Open", "todo", 3},
		{time.Hour, "T-1", "In Progress", "in_progress", 3},
		{3 * time.Hour, "T-1", "Done", "done", 5},
		{time.Hour, "T-2", "Open", "todo", 1},
	}
	// Two batches, the latest event first, so arrival order cannot decide.
	for _, batch := range [][]ev{{events[2], events[3]}, {events[0], events[1]}} {
		require.NoError(t, st.InsertBatch(ctx, te.Name, te.InsertColumns(), func(b driver.Batch) error {
			for _, e := range batch {
				if err := b.Append(base.Add(e.at), e.task, "kpiflow", "core", "title "+e.task, "story", e.state, e.category,
					"ada", e.points, "", []string{"T-9"}, e.task+e.state, "b"); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	rows, err := db.Conn.Query(ctx, "SELECT task_id, state, toString(state_category), points, blocked_by, ts FROM "+db.Name+".tasks_current FINAL ORDER BY task_id")
	require.NoError(t, err)
	defer rows.Close()
	type cur struct {
		Task, State, Category string
		Points                float64
		BlockedBy             []string
		TS                    time.Time
	}
	var got []cur
	for rows.Next() {
		var c cur
		require.NoError(t, rows.Scan(&c.Task, &c.State, &c.Category, &c.Points, &c.BlockedBy, &c.TS))
		c.TS = c.TS.UTC()
		got = append(got, c)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []cur{
		{"T-1", "Done", "done", 5, []string{"T-9"}, base.Add(3 * time.Hour)},
		{"T-2", "Open", "todo", 1, []string{"T-9"}, base.Add(time.Hour)},
	}, got)
	var n uint64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM "+db.Name+".task_events").Scan(&n))
	require.Equal(t, uint64(4), n)
}
