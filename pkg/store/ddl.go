package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// Migration is one versioned schema change, spelled for one server and one
// configuration.
type Migration struct {
	Version int
	Name    string
	// Statements run in order. Each is idempotent (IF NOT EXISTS, or IF
	// EXISTS for a drop), so a half-applied migration can simply be run
	// again.
	Statements []string
	// Checksum is the hex sha256 of the statements joined by ";\n".
	Checksum string
}

// migrationDef is a migration before it is spelled for a server.
type migrationDef struct {
	version int
	name    string
	// objects are the tables and views the migration creates, by their plain
	// names (the health check looks for them).
	objects []string
	// drops are the tables and views the migration removes (from
	// schema.RetiredTables), in order: a view before the table it writes
	// into, so nothing writes into a table being dropped.
	drops []string
}

// migrationDefs is every migration, oldest first, as this build runs them:
// an object a later migration drops is no longer created by the one that
// created it (see retire). Append new ones; never change an applied one's
// objects.
func migrationDefs() []migrationDef {
	return retire([]migrationDef{
		{version: 1, name: "baseline tables", objects: []string{schema.TableKPISamples, schema.TableTaskEvents, schema.TableDeployments,
			schema.TableIncidents, schema.TablePipelineRuns, schema.TableTeams, schema.TableIngestLedger}},
		{version: 2, name: "kpi rollups", objects: []string{schema.TableKPIRollup1m, schema.TableKPIRollup1m + viewSuffix,
			schema.TableKPIRollup1h, schema.TableKPIRollup1h + viewSuffix, schema.TableKPIRollup1d, schema.TableKPIRollup1d + viewSuffix}},
		{version: 3, name: "tasks_current", objects: []string{schema.TableTasksCurrent, schema.TableTasksCurrent + viewSuffix}},
		// The 1m rollup cost 70-80% of the views' ingest time for little
		// or no gain at query time (docs/benchmarks.md, "Rollups").
		{version: 4, name: "retire kpi_rollup_1m", drops: []string{schema.TableKPIRollup1m + viewSuffix, schema.TableKPIRollup1m}},
	})
}

// retire removes from each migration's objects what a later migration
// drops: a new installation never creates them, and a done migration is not
// run again because they are gone (Migrate would otherwise re-create what
// the later migration dropped).
func retire(defs []migrationDef) []migrationDef {
	for i := range defs {
		var keep []string
		for _, o := range defs[i].objects {
			if !slices.ContainsFunc(defs[i+1:], func(later migrationDef) bool { return slices.Contains(later.drops, o) }) {
				keep = append(keep, o)
			}
		}
		defs[i].objects = keep
	}
	return defs
}

// viewSuffix names the materialized view feeding a table: <table>_mv.
const viewSuffix = "_mv"

// build spells the migration's statements: tables are created from
// schema.Tables(), and a name ending in _mv is the view feeding the table
// before it from its Source.
func (def migrationDef) build(g ddlGen) []string {
	out := g.drop(def.drops)
	var last schema.Table
	for _, name := range def.objects {
		view, isView := strings.CutSuffix(name, viewSuffix)
		switch {
		case isView && last.Kind == schema.KindRollup && last.Name == view:
			out = append(out, g.rollupView(last))
		case isView && last.Kind == schema.KindCurrent && last.Name == view:
			out = append(out, g.copyView(name, last))
		case isView:
			// Only the two view kinds above exist; anything else is a kpiflow bug.
			panic("store: no view definition for " + name)
		default:
			last = mustTable(name)
			out = append(out, g.createTable(last)...)
		}
	}
	return out
}

// names lists what the migration leaves on a server: its tables and views
// and, in cluster mode, each table's _local table.
func (def migrationDef) names(g ddlGen) []string { return g.onServer(def.objects) }

// dropped lists what the migration removes from a server, named as names
// does.
func (def migrationDef) dropped(g ddlGen) []string { return g.onServer(def.drops) }

// onServer lists the tables and views of objects as a server holds them:
// each, and in cluster mode a table's _local table after it.
func (g ddlGen) onServer(objects []string) []string {
	var out []string
	for _, o := range objects {
		out = append(out, o)
		if isTable(o) && g.storage(o) != o {
			out = append(out, g.storage(o))
		}
	}
	return out
}

// isTable reports whether name is a table of this build's schema or a
// retired one (and not a view).
func isTable(name string) bool {
	if _, ok := schema.Lookup(name); ok {
		return true
	}
	return slices.ContainsFunc(schema.RetiredTables(), func(t schema.Table) bool { return t.Name == name })
}

// drop is the DDL removing objects, in their order: DROP TABLE IF EXISTS
// (which drops views too, on every server version), so running it again
// after a crash part way only drops what is left. In cluster mode each runs
// ON CLUSTER, a table's Distributed table before its _local table.
func (g ddlGen) drop(objects []string) []string {
	var out []string
	for _, name := range g.onServer(objects) {
		out = append(out, fmt.Sprintf("DROP TABLE IF EXISTS %s%s", g.qualified(name), g.onCluster()))
	}
	return out
}

// LatestVersion is the newest migration this build knows.
func LatestVersion() int {
	defs := migrationDefs()
	return defs[len(defs)-1].version
}

func mustTable(name string) schema.Table {
	t, ok := schema.Lookup(name)
	if !ok {
		// The migration list only names tables from schema.Tables(); a miss is a kpiflow bug.
		panic("store: migration names unknown table " + name)
	}
	return t
}

// Migrations spells every migration for a server of dialect d and the
// configuration s (database, cluster, retention). It is pure: the admin
// schema page and the tests show exactly what Migrate would run.
func Migrations(d dialect.Dialect, s settings.Settings) ([]Migration, error) {
	g, err := newDDLGen(d, s)
	if err != nil {
		return nil, err
	}
	defs := migrationDefs()
	out := make([]Migration, len(defs))
	for i, def := range defs {
		stmts := def.build(g)
		out[i] = Migration{Version: def.version, Name: def.name, Statements: stmts, Checksum: checksum(stmts)}
	}
	return out, nil
}

// BootstrapDDL creates schema_migrations (and, in cluster mode, the database
// on every node); it runs before any migration.
func BootstrapDDL(d dialect.Dialect, s settings.Settings) ([]string, error) {
	g, err := newDDLGen(d, s)
	if err != nil {
		return nil, err
	}
	var out []string
	if g.cluster != "" {
		// The pool's node has the database (it connected to it); the others may not.
		out = append(out, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s%s", dialect.Quote(g.db), g.onCluster()))
	}
	return append(out, g.createTable(mustTable(schema.TableSchemaMigrations))...), nil
}

func checksum(stmts []string) string {
	sum := sha256.Sum256([]byte(strings.Join(stmts, ";\n")))
	return hex.EncodeToString(sum[:])
}

// ddlGen writes DDL for one dialect and configuration.
type ddlGen struct {
	d         dialect.Dialect
	db        string
	cluster   string
	retention map[string]int
}

func newDDLGen(d dialect.Dialect, s settings.Settings) (ddlGen, error) {
	if !dialect.ValidIdent(s.Database) {
		return ddlGen{}, &settings.FieldError{Field: "jsonData.database", Message: fmt.Sprintf("expected a database name of letters, digits and underscores, got %q", s.Database)}
	}
	if s.Cluster != "" && !dialect.ValidIdent(s.Cluster) {
		return ddlGen{}, &settings.FieldError{Field: "jsonData.cluster", Message: fmt.Sprintf("expected a cluster name of letters, digits and underscores, got %q", s.Cluster)}
	}
	return ddlGen{d: d, db: s.Database, cluster: s.Cluster, retention: s.RetentionDays}, nil
}

// ddl is the DDL writer for the pool's server and settings.
func (s *Store) ddl(ctx context.Context) (ddlGen, error) {
	d, err := s.Dialect(ctx)
	if err != nil {
		return ddlGen{}, err
	}
	return newDDLGen(d, s.settings)
}

// qualified is `db`.`name`: DDL names the database, because ON CLUSTER DDL
// runs on other nodes whose current database is not ours.
func (g ddlGen) qualified(name string) string {
	return dialect.Quote(g.db) + "." + dialect.Quote(name)
}

// localSuffix names the replicated table holding a table's rows on each
// node in cluster mode (the plain name is the Distributed table).
const localSuffix = "_local"

// storage is the table that holds the rows: name_local in cluster mode.
func (g ddlGen) storage(name string) string {
	if g.cluster != "" {
		return name + localSuffix
	}
	return name
}

func (g ddlGen) onCluster() string {
	if g.cluster == "" {
		return ""
	}
	return " ON CLUSTER " + dialect.Quote(g.cluster)
}

// createTable is the table's CREATE TABLE, or in cluster mode the replicated
// local table plus the Distributed table under the plain name.
func (g ddlGen) createTable(t schema.Table) []string {
	local := g.storage(t.Name)
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s%s\n(\n", g.qualified(local), g.onCluster())
	for i, c := range t.Columns {
		fmt.Fprintf(&b, "    %s %s", dialect.Quote(c.Name), typeFor(c, g.d))
		if c.Default != "" {
			b.WriteString(" DEFAULT " + c.Default)
		}
		if c.Codec != "" && g.d.Features.Codecs {
			b.WriteString(" CODEC(" + c.Codec + ")")
		}
		if i < len(t.Columns)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, ")\nENGINE = %s", g.engine(t, local))
	if t.PartitionBy != "" {
		b.WriteString("\nPARTITION BY " + t.PartitionBy)
	}
	b.WriteString("\nORDER BY " + t.SortingKey())
	if ttl := g.ttl(t); ttl != "" {
		b.WriteString("\nTTL " + ttl)
	}
	out := []string{b.String()}
	if g.cluster != "" {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s\nENGINE = Distributed('%s', '%s', '%s', %s)",
			g.qualified(t.Name), g.onCluster(), g.qualified(local),
			g.cluster, g.db, local, t.ShardKey))
	}
	return out
}

func (g ddlGen) engine(t schema.Table, local string) string {
	var args []string
	name := t.Engine
	if g.cluster != "" {
		name = "Replicated" + name
		args = append(args, fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s'", g.db, local), "'{replica}'")
	}
	if t.Version != "" {
		args = append(args, t.Version)
	}
	if len(args) == 0 && name == t.Engine {
		return name
	}
	return name + "(" + strings.Join(args, ", ") + ")"
}

// ttl is the table's TTL expression, when retention is configured for it and
// the server has TTL ("" otherwise: ApplyRetention drops old data instead).
func (g ddlGen) ttl(t schema.Table) string {
	days := g.retention[t.Name]
	if days <= 0 || t.TimeColumn == "" || !g.d.Features.TTL {
		return ""
	}
	return ttlExpr(t.TimeColumn, days)
}

func ttlExpr(col string, days int) string {
	return fmt.Sprintf("%s + INTERVAL %d DAY", col, days)
}

// rollupView is the materialized view <rollup>_mv feeding a rollup from its
// source (schema.KPIRollup). In cluster mode it reads and writes the local
// tables on each node (the view itself keeps its plain name, as nothing reads
// it), so every shard rolls up the samples it holds and the Distributed
// rollup merges them.
func (g ddlGen) rollupView(t schema.Table) string {
	return fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s%s TO %s AS\n%s",
		g.qualified(t.Name+viewSuffix), g.onCluster(), g.qualified(g.storage(t.Name)),
		g.rollupSelect(t, g.qualified(g.storage(t.Source)), ""))
}

// rollupSelect is the aggregation that fills rollup t from the rows of
// source (optionally restricted by where): the materialized view's query,
// and the one a repair rebuilds buckets with, so the two cannot differ.
func (g ddlGen) rollupSelect(t schema.Table, source, where string) string {
	r := schema.KPIRollup()
	sel := []string{dialect.Bucket(r.SourceTime, int64(t.ResolutionSeconds)) + " AS " + r.Time, strings.Join(r.Dimensions, ", ")}
	for _, s := range r.States {
		sel = append(sel, fmt.Sprintf("%s(%s) AS %s", s.Call("State"), strings.Join(s.Of, ", "), dialect.Quote(s.Column)))
	}
	if where != "" {
		where = "\nWHERE " + where
	}
	return fmt.Sprintf("SELECT\n    %s\nFROM %s%s\nGROUP BY %s",
		strings.Join(sel, ",\n    "), source, where, strings.Join(append([]string{r.Time}, r.Dimensions...), ", "))
}

// copyView is a materialized view named name copying every column of t's
// source into t.
func (g ddlGen) copyView(name string, t schema.Table) string {
	return fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s%s TO %s AS\n%s",
		g.qualified(name), g.onCluster(), g.qualified(g.storage(t.Name)),
		copySelect(t, g.qualified(g.storage(t.Source)), ""))
}

// copySelect reads every column of t from source (optionally restricted by
// where): the copy view's query, and the one a repair refills t with.
func copySelect(t schema.Table, source, where string) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = dialect.Quote(c.Name)
	}
	if where != "" {
		where = "\nWHERE " + where
	}
	return fmt.Sprintf("SELECT %s\nFROM %s%s", strings.Join(cols, ", "), source, where)
}
