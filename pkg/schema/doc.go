// Package schema is the one description of kpiflow's ClickHouse store: its
// tables and columns with their types, the enums, which ingest stream writes
// which table and with which JSON keys, which tables retention applies to,
// and how the rollups summarise kpi_samples.
//
//	t, _ := schema.Lookup(schema.TableKPISamples)
//	cols := t.InsertColumns()              // names in insert order, without defaulted columns
//	s, _ := schema.StreamFor(schema.StreamDeployments)
//	for _, f := range s.Fields() { ... }  // the ingest API's keys: name, kind, required, enum values
//	schema.DeploymentResults()             // success, failure, rollback, cancelled
//
// Everything else derives from it: the DDL (package store), the planner's
// catalog (package query), ingest's decoder and validation, the settings'
// retention table names, the demo encoder and the command line's flag
// checks. Adding a column is one edit here (plus a migration in store).
// Retiring a table is removing it here, describing it in RetiredTables (so
// settings saved while it existed still load) and a store migration that
// drops it.
//
// # Notes
//
// The package is pure data: it does no I/O and imports no kpiflow package.
// Every function returns a fresh value, so no caller can change what another
// sees. Types are spelled as on every server (a Dimension column is String
// here; package dialect says where it becomes LowCardinality(String)).
package schema
