package chtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// PreRetirementSchema installs kpiflow's schema on st as builds before
// migration 4 (retire kpi_rollup_1m) left it: migrations 1 to 3 recorded
// done, and kpi_rollup_1m with its materialized view, which migration 2
// created then. s are st's settings (one server or a cluster).
//
//	st, _ := store.Open(ctx, db.Settings(t))
//	chtest.PreRetirementSchema(ctx, t, st, db.Settings(t)) // then insert samples: the views fill 1m, 1h and 1d
//
// # Notes
//
// The 1m rollup's DDL is the 1h rollup's with the width changed (the rollups
// only ever differed in it: schema.RetiredTables describes the 1m one), so it
// is spelled for the server and the cluster setting exactly as migration 2
// spells the others.
func PreRetirementSchema(ctx context.Context, t testing.TB, st *store.Store, s settings.Settings) {
	t.Helper()
	d, err := st.Dialect(ctx)
	if err != nil {
		t.Fatalf("read the server's version: %v", err)
	}
	boot, err := store.BootstrapDDL(d, s)
	if err != nil {
		t.Fatal(err)
	}
	migs, err := store.Migrations(d, s)
	if err != nil {
		t.Fatal(err)
	}
	if migs[3].Version != 4 {
		t.Fatalf("migration 4 is %d (%s)", migs[3].Version, migs[3].Name)
	}
	stmts := boot
	for _, m := range migs[:3] {
		stmts = append(stmts, m.Statements...)
		if m.Version == 2 {
			stmts = append(stmts, Rollup1mDDL(t, m.Statements)...)
		}
	}
	for _, stmt := range stmts {
		if err := st.Conn().Exec(ctx, stmt); err != nil {
			t.Fatalf("install the pre-retirement schema: %v\n%s", err, stmt)
		}
	}
	for _, m := range migs[:3] {
		for _, state := range []string{schema.MigrationStarted, schema.MigrationDone} {
			err := st.InsertBatch(ctx, schema.TableSchemaMigrations, []string{"version", "name", "state", "checksum", "applied_at"},
				func(b driver.Batch) error {
					return b.Append(uint32(m.Version), m.Name, state, m.Checksum, time.Now().UTC())
				})
			if err != nil {
				t.Fatalf("record migration %d: %v", m.Version, err)
			}
		}
	}
}

// Rollup1mDDL is the DDL that created kpi_rollup_1m and its view, derived
// from migration 2's statements (see PreRetirementSchema).
func Rollup1mDDL(t testing.TB, migration2 []string) []string {
	t.Helper()
	hour, minute := schema.RollupName(3600), schema.TableKPIRollup1m
	var out []string
	for _, stmt := range migration2 {
		if !strings.Contains(stmt, "`"+hour) {
			continue
		}
		s := strings.ReplaceAll(stmt, hour, minute)
		if strings.Contains(s, "MATERIALIZED VIEW") {
			before := s
			s = strings.ReplaceAll(s, ", 3600) * 3600)", ", 60) * 60)")
			if s == before {
				t.Fatalf("the 1h rollup's view has no 3600 s bucket to change:\n%s", before)
			}
		}
		out = append(out, s)
	}
	if len(out) < 2 {
		t.Fatalf("migration 2 has no 1h rollup to derive the 1m one from")
	}
	return out
}
