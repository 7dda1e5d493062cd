//go:build integration

package plugin_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// TestIntegrationRetireRollup1m upgrades an installation made before
// migration 4: kpi_rollup_1m and its view hold data. After admin/migrate
// they are gone (also after a crash between the two drops, and again after
// an older kpiflow re-created them), the 1h and 1d rollups hold exactly what
// they held and keep being fed, and kpi queries with 1m to 30m buckets read
// kpi_samples and answer what the 1m rollup answered, both equal to the
// answer computed here in Go from the samples.
func TestIntegrationRetireRollup1m(t *testing.T) {
	db := chtest.NewDatabase(t)
	s := db.Settings(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, s)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	chtest.PreRetirementSchema(ctx, t, st, s)
	e := loadDemo(t, st, db, demo.Options{Seed: 11, Days: 2, Teams: 2, Now: builderNow, KPIInterval: 2 * time.Minute})
	admin := e.src.WithRole("Admin")
	from, to := builderNow.Add(-30*time.Hour+7*time.Minute), builderNow.Add(-6*time.Hour+3*time.Minute)
	metrics := []string{"latency_p95_ms", "error_rate"}
	aggs := []string{"avg", "sum", "min", "max", "count"}
	widths := map[string]int64{"1m": 60, "5m": 300, "15m": 900, "30m": 1800}

	objects := func() map[string]bool {
		rows, err := db.Conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ?", db.Name)
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			out[n] = true
		}
		require.NoError(t, rows.Err())
		return out
	}
	// rollup reads the merged states of a rollup, bucket by bucket, as text.
	rollup := func(table string) []string {
		r := schema.KPIRollup()
		parts := []string{"toString(" + r.Time + ")"}
		parts = append(parts, r.Dimensions...)
		for _, st := range r.States {
			// A merged t-digest depends on the order its parts merged in,
			// which background merges change.
			if st.Column != schema.StateQuantile {
				parts = append(parts, fmt.Sprintf("toString(%s(`%s`))", st.Call("Merge"), st.Column))
			}
		}
		keys := strings.Join(append([]string{r.Time}, r.Dimensions...), ", ")
		rows, err := db.Conn.Query(ctx, fmt.Sprintf("SELECT concat(%s) AS line FROM %s.%s GROUP BY %s ORDER BY line",
			strings.Join(parts, ", '|', "), db.Name, table, keys))
		require.NoError(t, err, table)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			out = append(out, line)
		}
		require.NoError(t, rows.Err())
		return out
	}
	// from1m answers a kpi query by team the way builds before migration 4
	// did, from the 1m rollup's merged states.
	from1m := func(agg string, width int64) map[string]map[int64]float64 {
		lo, hi := from.Unix()/width*width, (to.Unix()+width-1)/width*width
		rows, err := db.Conn.Query(ctx, fmt.Sprintf(`SELECT toUInt32(intDiv(toUInt32(bucket), %d) * %d) AS b, metric, team,
    countMerge(cnt), sumMerge(sum), minMerge(min), maxMerge(max)
FROM %s.kpi_rollup_1m WHERE bucket >= toDateTime(?) AND bucket < toDateTime(?) AND has(?, metric)
GROUP BY b, metric, team`, width, width, db.Name), lo, hi, metrics)
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]map[int64]float64{}
		for rows.Next() {
			var b uint32
			var metric, team string
			var n uint64
			var sum, lo, hi float64
			require.NoError(t, rows.Scan(&b, &metric, &team, &n, &sum, &lo, &hi))
			key := seriesKey(metric, map[string]string{"team": team})
			if out[key] == nil {
				out[key] = map[int64]float64{}
			}
			out[key][int64(b)] = map[string]float64{"avg": sum / float64(n), "sum": sum, "min": lo, "max": hi, "count": float64(n)}[agg]
		}
		require.NoError(t, rows.Err())
		return out
	}
	kpiCaseFor := func(agg, iv string, width int64, table string) kpiCase {
		return kpiCase{metrics: metrics, agg: agg, groupBy: []string{"team"}, interval: iv, bucket: width, table: table, from: from, to: to}
	}
	query := func(c kpiCase) backend.DataResponse {
		return e.run(t, nil, "kpi", map[string]any{"metrics": c.metrics, "aggregation": c.agg, "groupBy": c.groupBy,
			"filters": []any{}, "interval": c.interval, "format": "timeseries"}, c.from, c.to, time.Minute)
	}
	migrate := func() migrateAnswer {
		r := e.p.CallResource(ctx, t, admin, http.MethodPost, "admin/migrate", nil, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var m migrateAnswer
		r.JSON(t, &m)
		return m
	}
	health := func() *backend.CheckHealthResult { return e.p.CheckHealth(ctx, t, e.src) }
	retired := []string{"kpi_rollup_1m", "kpi_rollup_1m_mv"}
	kept := []string{"kpi_rollup_1h", "kpi_rollup_1h_mv", "kpi_rollup_1d", "kpi_rollup_1d_mv"}

	// The old installation: the 1m rollup holds every sample, and answers
	// sub-hour buckets as Go does.
	objs := objects()
	for _, o := range append(retired, kept...) {
		require.True(t, objs[o], o)
	}
	var n1m uint64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT countMerge(cnt) FROM "+db.Name+".kpi_rollup_1m").Scan(&n1m))
	require.Equal(t, uint64(len(e.kpi)), n1m)
	before := map[string]map[string]map[int64]float64{}
	for iv, w := range widths {
		for _, agg := range aggs {
			want := e.expectKPI(t, kpiCaseFor(agg, iv, w, ""))
			require.NotEmpty(t, want)
			before[agg+" "+iv] = from1m(agg, w)
			require.Equal(t, want, before[agg+" "+iv], "%s %s from the 1m rollup", agg, iv)
		}
	}
	hour, day := rollup("kpi_rollup_1h"), rollup("kpi_rollup_1d")
	require.NotEmpty(t, hour)
	res := health()
	require.Contains(t, res.Message, "Schema at migration 3, newer migrations pending")

	t.Run("a crash between the two drops", func(t *testing.T) {
		d, err := st.Dialect(ctx)
		require.NoError(t, err)
		migs, err := store.Migrations(d, s)
		require.NoError(t, err)
		m4 := migs[3]
		require.Equal(t, "DROP TABLE IF EXISTS `"+db.Name+"`.`kpi_rollup_1m_mv`", m4.Statements[0], "the view goes first: nothing writes into the table after")
		require.NoError(t, st.InsertBatch(ctx, schema.TableSchemaMigrations, []string{"version", "name", "state", "checksum", "applied_at"},
			func(b driver.Batch) error {
				return b.Append(uint32(4), m4.Name, schema.MigrationStarted, m4.Checksum, time.Now().UTC())
			}))
		require.NoError(t, db.Conn.Exec(ctx, m4.Statements[0]))
		objs := objects()
		require.False(t, objs["kpi_rollup_1m_mv"])
		require.True(t, objs["kpi_rollup_1m"])
		res := health()
		require.Contains(t, res.Message, "migration 4 (retire kpi_rollup_1m) started at")
	})

	t.Run("migrate", func(t *testing.T) {
		m := migrate()
		require.Len(t, m.Applied, 1, "only migration 4 runs: migration 2 does not re-create the 1m rollup")
		require.Equal(t, 4, m.Applied[0].Version)
		require.Equal(t, 4, m.Version)
		objs := objects()
		for _, o := range retired {
			require.False(t, objs[o], o)
		}
		for _, o := range kept {
			require.True(t, objs[o], o)
		}
		require.Equal(t, hour, rollup("kpi_rollup_1h"), "the 1h rollup is untouched")
		require.Equal(t, day, rollup("kpi_rollup_1d"), "the 1d rollup is untouched")
		res := health()
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
		require.Contains(t, res.Message, "Schema ready at migration 4.")
		require.Empty(t, migrate().Applied, "again: nothing to do")
	})

	t.Run("1m to 30m buckets read kpi_samples with the same answers", func(t *testing.T) {
		for iv, w := range widths {
			for _, agg := range aggs {
				c := kpiCaseFor(agg, iv, w, "kpi_samples")
				r := query(c)
				require.Contains(t, notices(r), "Reading kpi_samples: no rollup fits the "+iv+" interval.")
				got := series(t, r.Frames)
				require.Equal(t, e.expectKPI(t, c), got, "%s %s", agg, iv)
				require.Equal(t, before[agg+" "+iv], got, "%s %s: what the 1m rollup answered", agg, iv)
			}
		}
		for iv, w := range map[string]int64{"1h": 3600, "1d": 86400} {
			c := kpiCaseFor("avg", iv, w, "kpi_rollup_"+iv)
			r := query(c)
			require.Contains(t, notices(r), "Reading kpi_rollup_"+iv+":")
			require.Equal(t, e.expectKPI(t, c), series(t, r.Frames), iv)
		}
	})

	t.Run("the 1h and 1d views still feed their rollups", func(t *testing.T) {
		at := builderNow.Add(time.Hour)
		require.NoError(t, st.InsertBatch(ctx, "kpi_samples", []string{"ts", "metric", "value", "team", "event_id", "batch_id"},
			func(b driver.Batch) error { return b.Append(at, "after", 2.5, "t", "e1", "after-migration") }))
		for _, table := range []string{"kpi_rollup_1h", "kpi_rollup_1d"} {
			var n uint64
			require.NoError(t, db.Conn.QueryRow(ctx, "SELECT countMerge(cnt) FROM "+db.Name+"."+table+" WHERE metric = 'after'").Scan(&n))
			require.Equal(t, uint64(1), n, table)
		}
	})

	t.Run("an older kpiflow re-created the 1m rollup: migration 4 runs again", func(t *testing.T) {
		d, err := st.Dialect(ctx)
		require.NoError(t, err)
		migs, err := store.Migrations(d, s)
		require.NoError(t, err)
		// What an older build's Migrate does: its migration 2 misses the 1m rollup.
		for _, stmt := range chtest.Rollup1mDDL(t, migs[1].Statements) {
			require.NoError(t, db.Conn.Exec(ctx, stmt))
		}
		res := health()
		require.Contains(t, res.Message, "kpi_rollup_1m_mv (dropped by migration 4, retire kpi_rollup_1m) exists again")
		r := e.p.CallResource(ctx, t, admin, http.MethodGet, "admin/schema", nil, nil)
		var sa schemaAnswer
		r.JSON(t, &sa)
		require.Equal(t, "incomplete", sa.Migrations[3].Status)
		m := migrate()
		require.Len(t, m.Applied, 1)
		require.Equal(t, 4, m.Applied[0].Version)
		objs := objects()
		for _, o := range retired {
			require.False(t, objs[o], o)
		}
		res = health()
		require.Equal(t, backend.HealthStatusOk, res.Status, res.Message)
	})
}
