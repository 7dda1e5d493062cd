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

// TestIntegrationRetentionWithoutTTL checks the fallback 18.16 needs: old
// monthly partitions are dropped, unpartitioned tables get a DELETE.
func TestIntegrationRetentionWithoutTTL(t *testing.T) {
	db := chtest.NewDatabase(t)
	s := db.Settings(t)
	s.RetentionDays = map[string]int{schema.TableKPISamples: 30, schema.TableKPIRollup1h: 60, schema.TableDeployments: 30}
	st := openStore(t, s)
	ctx := testCtx(t)
	_, err := st.Migrate(ctx)
	require.NoError(t, err)

	now := time.Date(2026, 11, 23, 19, 0, 0, 0, time.UTC)
	old := []time.Time{
		time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC),   // 202608: all older than 60 days
		time.Date(2026, 8, 31, 23, 0, 0, 0, time.UTC), // 202608
		time.Date(2026, 9, 30, 12, 0, 0, 0, time.UTC), // 202609: 54 days old, past 30, not 60
		time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC), // 202610: 44 days old but the month holds a newer row
		time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC), // 202610: 24 days old
		time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), // 202611
	}
	kpi, _ := schema.Lookup(schema.TableKPISamples)
	require.NoError(t, st.InsertBatch(ctx, kpi.Name, kpi.InsertColumns(), func(b driver.Batch) error {
		for i, ts := range old {
			if err := b.Append(ts, "m", float64(i), "core", "p", "s", "prod", "ci", []string{}, []string{}, "e", "b"); err != nil {
				return err
			}
		}
		return nil
	}))
	dep, _ := schema.Lookup(schema.TableDeployments)
	require.NoError(t, st.InsertBatch(ctx, dep.Name, dep.InsertColumns(), func(b driver.Batch) error {
		for i, ts := range []time.Time{old[0], old[5]} {
			if err := b.Append(ts, []string{"d-old", "d-new"}[i], "api", "core", "prod", "success", "abc", nil, "deploy", "e", "b"); err != nil {
				return err
			}
		}
		return nil
	}))

	actions, err := st.ApplyRetention(ctx, now)
	require.NoError(t, err)
	var got []string
	for _, a := range actions {
		got = append(got, a.Table+" "+string(a.Method)+" "+a.Partition)
	}
	require.ElementsMatch(t, []string{
		"deployments delete ",
		"kpi_rollup_1h drop_partitions 202608",
		"kpi_samples drop_partitions 202608",
		"kpi_samples drop_partitions 202609",
	}, got)

	months := func(table, col string) []string {
		rows, err := db.Conn.Query(ctx, "SELECT DISTINCT toString(toYYYYMM("+col+")) AS m FROM "+db.Name+"."+table+" ORDER BY m")
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var m string
			require.NoError(t, rows.Scan(&m))
			out = append(out, m)
		}
		return out
	}
	require.Equal(t, []string{"202610", "202611"}, months(schema.TableKPISamples, "ts"))
	require.Equal(t, []string{"202609", "202610", "202611"}, months(schema.TableKPIRollup1h, "bucket"))
	// Retention is per table: the daily rollup keeps everything.
	require.Equal(t, []string{"202608", "202609", "202610", "202611"}, months(schema.TableKPIRollup1d, "bucket"))

	// The DELETE is a mutation: 18.16 applies it in the background.
	require.Eventually(t, func() bool {
		var n uint64
		require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM "+db.Name+".deployments WHERE deployment_id = 'd-old'").Scan(&n))
		return n == 0
	}, 30*time.Second, 200*time.Millisecond)

	var n uint64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM "+db.Name+".deployments").Scan(&n))
	require.Equal(t, uint64(1), n, "the recent deployment stays")

	// Nothing more is due: a second run does nothing.
	actions, err = st.ApplyRetention(ctx, now)
	require.NoError(t, err)
	require.Empty(t, actions)
}

// TestIntegrationRetentionRefusesOverflowingDays is issue 8.1: 999999 days
// overflowed the cutoff into the future and every partition was dropped.
// Settings refuse it; ApplyRetention refuses it again for settings built by
// hand, and drops nothing.
func TestIntegrationRetentionRefusesOverflowingDays(t *testing.T) {
	db := chtest.NewDatabase(t)
	s := db.Settings(t)
	s.RetentionDays = map[string]int{schema.TableKPISamples: 999999}
	st := openStore(t, s)
	ctx := testCtx(t)
	_, err := st.Migrate(ctx)
	require.NoError(t, err)
	kpi, _ := schema.Lookup(schema.TableKPISamples)
	now := time.Now().UTC()
	require.NoError(t, st.InsertBatch(ctx, kpi.Name, kpi.InsertColumns(), func(b driver.Batch) error {
		for i, ts := range []time.Time{now.AddDate(-1, 0, 0), now.Add(-time.Hour)} {
			if err := b.Append(ts, "m", float64(i), "core", "p", "s", "prod", "ci", []string{}, []string{}, "e", "b"); err != nil {
				return err
			}
		}
		return nil
	}))
	actions, err := st.ApplyRetention(ctx, now)
	require.ErrorContains(t, err, "jsonData.retentionDays.kpi_samples: expected 1 to 36500 days, got 999999")
	require.Empty(t, actions)
	var n uint64
	require.NoError(t, db.Conn.QueryRow(ctx, "SELECT count() FROM "+db.Name+".kpi_samples").Scan(&n))
	require.Equal(t, uint64(2), n)
}
