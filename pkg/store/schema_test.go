package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSchemaStateOf(t *testing.T) {
	at := time.Date(2026, 11, 23, 19, 0, 0, 0, time.UTC)
	done := func(versions ...int) migrationRecords {
		r := migrationRecords{}
		for _, v := range versions {
			r[v] = migrationRecord{started: true, done: true, name: "m"}
		}
		return r
	}
	all := make([]int, LatestVersion())
	for i := range all {
		all[i] = i + 1
	}
	with := func(r migrationRecords, v int, rec migrationRecord) migrationRecords {
		r[v] = rec
		return r
	}
	tests := []struct {
		name string
		rec  migrationRecords
		want SchemaState
	}{
		{"empty table", migrationRecords{}, SchemaState{Status: SchemaMissing}},
		{"all done", done(all...), SchemaState{Status: SchemaReady, Version: LatestVersion()}},
		{"older schema", done(1), SchemaState{Status: SchemaPending, Version: 1}},
		{"half-applied first migration", with(migrationRecords{}, 1, migrationRecord{started: true, name: "baseline tables", startedAt: at}),
			SchemaState{Status: SchemaBroken, Version: 0, Detail: "migration 1 (baseline tables) started at 2026-11-23T19:00:00Z but never finished"}},
		{"half-applied later migration", with(done(1), 2, migrationRecord{started: true, name: "kpi rollups", startedAt: at}),
			SchemaState{Status: SchemaBroken, Version: 1, Detail: "migration 2 (kpi rollups) started at 2026-11-23T19:00:00Z but never finished"}},
		{"half-applied unknown migration", with(done(all...), 99, migrationRecord{started: true, name: "future", startedAt: at}),
			SchemaState{Status: SchemaBroken, Version: LatestVersion(), Detail: "migration 99 (future) started at 2026-11-23T19:00:00Z but never finished"}},
		{"a re-run that finished", with(done(all...), 1, migrationRecord{started: true, done: true}),
			SchemaState{Status: SchemaReady, Version: LatestVersion()}},
		{"newer kpiflow applied more", with(done(all...), 99, migrationRecord{started: true, done: true}),
			SchemaState{Status: SchemaReady, Version: 99, Detail: "applied by a newer kpiflow; this one knows migrations up to 4"}},
		{"gap", done(2, 3), SchemaState{Status: SchemaPending, Version: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, schemaStateOf(tt.rec))
		})
	}
}

func TestMissingObjects(t *testing.T) {
	rec := migrationRecords{1: {done: true}, 2: {done: true}}
	existing := map[string]string{}
	for _, def := range migrationDefs()[:2] {
		for _, o := range def.objects {
			existing[o] = "x"
		}
	}
	require.Empty(t, missingObjects(rec, existing))
	delete(existing, "kpi_rollup_1h_mv")
	require.Equal(t, "kpi_rollup_1h_mv (created by migration 2, kpi rollups) is missing", missingObjects(rec, existing))
	// Objects of migrations not done are not expected.
	require.Empty(t, missingObjects(migrationRecords{1: {done: true}}, existing))

	// What a done migration dropped must stay gone; before it is done its
	// objects are still expected to be there.
	existing["kpi_rollup_1h_mv"] = "x"
	existing["kpi_rollup_1m"] = "x"
	require.Empty(t, missingObjects(rec, existing))
	for _, def := range migrationDefs()[2:3] {
		for _, o := range def.objects {
			existing[o] = "x"
		}
	}
	rec[3], rec[4] = migrationRecord{done: true}, migrationRecord{done: true}
	require.Equal(t, "kpi_rollup_1m (dropped by migration 4, retire kpi_rollup_1m) exists again", missingObjects(rec, existing))
	delete(existing, "kpi_rollup_1m")
	require.Empty(t, missingObjects(rec, existing))
}

func TestSchemaStateDescribe(t *testing.T) {
	require.Equal(t, "Schema ready at migration 3.", SchemaState{Status: SchemaReady, Version: 3}.Describe())
	require.Contains(t, SchemaState{Status: SchemaPending, Version: 1}.Describe(), "Schema at migration 1, newer migrations pending")
	require.Equal(t, "Schema broken at migration 1: migration 2 (x) started at t but never finished. Apply migrations again with POST admin/migrate.",
		SchemaState{Status: SchemaBroken, Version: 1, Detail: "migration 2 (x) started at t but never finished"}.Describe())
	require.Contains(t, SchemaState{Status: SchemaMissing}.Describe(), "not installed")
}
