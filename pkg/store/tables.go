package store

import (
	"slices"

	"github.com/kpiflow/kpiflow/pkg/dialect"
)

// Column is one column of a kpiflow table.
type Column struct {
	Name string
	// Type is the column's type on every server. A Dimension column is
	// String here and LowCardinality(String) where the server has it; use
	// TypeFor for the type a given server uses.
	Type string
	// Dimension marks a low-cardinality string dimension, (S) in the schema.
	Dimension bool
	// Default is the column's DEFAULT expression. Columns with one are left
	// out of inserts (see Table.InsertColumns).
	Default string
	// codec is the compression codec, used only where the server has codecs.
	codec string
}

// TypeFor is the column's type on a server of dialect d.
func (c Column) TypeFor(d dialect.Dialect) string {
	if c.Dimension {
		return d.StringType()
	}
	return c.Type
}

// TableKind says what a table holds.
type TableKind string

// The table kinds.
const (
	KindRaw        TableKind = "raw"        // rows as ingested
	KindRollup     TableKind = "rollup"     // aggregate states, fed by a materialized view
	KindCurrent    TableKind = "current"    // latest row per key, fed by a materialized view
	KindLedger     TableKind = "ledger"     // the ingest ledger
	KindMigrations TableKind = "migrations" // schema_migrations
)

// Table describes one kpiflow table: the one source of truth for DDL and for
// the column lists of inserts and reads.
//
//	t, _ := store.LookupTable("kpi_samples")
//	cols := t.InsertColumns() // names in insert order, without defaulted columns
type Table struct {
	Name    string
	Kind    TableKind
	Columns []Column
	// Engine is the engine family without the Replicated prefix:
	// MergeTree, AggregatingMergeTree or ReplacingMergeTree.
	Engine string
	// Version is ReplacingMergeTree's version column ("" for none).
	Version     string
	PartitionBy string // "" for an unpartitioned table
	OrderBy     string
	// TimeColumn is the column retention counts from ("" when retention
	// does not apply to the table).
	TimeColumn string
	// ResolutionSeconds is a rollup's bucket width.
	ResolutionSeconds int
	// ShardKey is the Distributed table's sharding expression in cluster
	// mode. Tables that collapse rows per key shard by that key, so that
	// every row of one key lands on one shard where FINAL can merge them.
	ShardKey string
}

// ColumnNames lists every column, in table order.
func (t Table) ColumnNames() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// InsertColumns lists the columns an insert supplies, in table order:
// every column without a DEFAULT.
func (t Table) InsertColumns() []string {
	names := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		if c.Default == "" {
			names = append(names, c.Name)
		}
	}
	return names
}

// Column returns the named column.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Table names, as fixed by the design.
const (
	TableKPISamples       = "kpi_samples"
	TableKPIRollup1m      = "kpi_rollup_1m"
	TableKPIRollup1h      = "kpi_rollup_1h"
	TableKPIRollup1d      = "kpi_rollup_1d"
	TableTaskEvents       = "task_events"
	TableTasksCurrent     = "tasks_current"
	TableDeployments      = "deployments"
	TableIncidents        = "incidents"
	TablePipelineRuns     = "pipeline_runs"
	TableTeams            = "teams"
	TableIngestLedger     = "ingest_ledger"
	TableSchemaMigrations = "schema_migrations"
)

// Column constructors keep the table list below readable.
func col(name, typ string) Column { return Column{Name: name, Type: typ} }
func dim(name string) Column      { return Column{Name: name, Type: "String", Dimension: true} }

var ingestedAt = Column{Name: "ingested_at", Type: "DateTime", Default: "now()"}

func kpiSamplesTable() Table {
	return Table{
		Name: TableKPISamples, Kind: KindRaw, Engine: "MergeTree",
		Columns: []Column{
			{Name: "ts", Type: "DateTime", codec: "Delta, LZ4"},
			dim("metric"),
			col("value", "Float64"),
			dim("team"), dim("project"), dim("service"), dim("environment"), dim("source"),
			{Name: "label_keys", Type: "Array(String)", codec: "ZSTD(1)"},
			{Name: "label_values", Type: "Array(String)", codec: "ZSTD(1)"},
			col("event_id", "String"),
			col("batch_id", "String"),
			ingestedAt,
		},
		PartitionBy: "toYYYYMM(ts)", OrderBy: "(metric, team, ts)", TimeColumn: "ts", ShardKey: "rand()",
	}
}

func rollupTable(name string, seconds int) Table {
	return Table{
		Name: name, Kind: KindRollup, Engine: "AggregatingMergeTree",
		Columns: []Column{
			{Name: "bucket", Type: "DateTime", codec: "Delta, LZ4"},
			dim("metric"), dim("team"), dim("project"), dim("service"), dim("environment"),
			col("cnt", "AggregateFunction(count)"),
			col("sum", "AggregateFunction(sum, Float64)"),
			col("min", "AggregateFunction(min, Float64)"),
			col("max", "AggregateFunction(max, Float64)"),
			col("q", "AggregateFunction("+RollupQuantiles+", Float64)"),
			col("last", "AggregateFunction(argMax, Float64, DateTime)"),
		},
		PartitionBy: "toYYYYMM(bucket)", OrderBy: "(metric, team, project, service, environment, bucket)",
		TimeColumn: "bucket", ResolutionSeconds: seconds, ShardKey: "rand()",
	}
}

// RollupQuantiles is the quantile state kept in the rollups' q column; read
// it with quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(q).
const RollupQuantiles = "quantilesTDigest(0.5, 0.9, 0.95, 0.99)"

func taskColumns() []Column {
	return []Column{
		{Name: "ts", Type: "DateTime", codec: "Delta, LZ4"},
		col("task_id", "String"),
		dim("project"), dim("team"),
		col("title", "String"),
		dim("kind"), dim("state"),
		col("state_category", "Enum8('todo' = 1, 'in_progress' = 2, 'done' = 3)"),
		col("assignee", "String"),
		col("points", "Float64"),
		col("parent_id", "String"),
		col("blocked_by", "Array(String)"),
		col("event_id", "String"),
		col("batch_id", "String"),
		ingestedAt,
	}
}

// Tables describes every kpiflow table, in creation order.
func Tables() []Table {
	return []Table{
		kpiSamplesTable(),
		{
			Name: TableTaskEvents, Kind: KindRaw, Engine: "MergeTree", Columns: taskColumns(),
			PartitionBy: "toYYYYMM(ts)", OrderBy: "(project, task_id, ts)", TimeColumn: "ts",
			// By task, so that tasks_current (fed on each shard) holds every
			// event of a task on one shard.
			ShardKey: "cityHash64(task_id)",
		},
		{
			Name: TableDeployments, Kind: KindRaw, Engine: "ReplacingMergeTree", Version: "ingested_at",
			Columns: []Column{
				col("finished_at", "DateTime"),
				col("deployment_id", "String"),
				dim("service"), dim("team"), dim("environment"),
				col("result", "Enum8('success' = 1, 'failure' = 2, 'rollback' = 3, 'cancelled' = 4)"),
				col("commit_sha", "String"),
				col("first_commit_at", "Nullable(DateTime)"),
				dim("pipeline"),
				col("event_id", "String"),
				col("batch_id", "String"),
				ingestedAt,
			},
			OrderBy: "deployment_id", TimeColumn: "finished_at", ShardKey: "cityHash64(deployment_id)",
		},
		{
			Name: TableIncidents, Kind: KindRaw, Engine: "ReplacingMergeTree", Version: "ingested_at",
			Columns: []Column{
				col("incident_id", "String"),
				dim("service"), dim("team"), dim("severity"),
				col("opened_at", "DateTime"),
				col("resolved_at", "Nullable(DateTime)"),
				col("caused_by_deployment", "String"),
				col("event_id", "String"),
				col("batch_id", "String"),
				ingestedAt,
			},
			OrderBy: "incident_id", TimeColumn: "opened_at", ShardKey: "cityHash64(incident_id)",
		},
		{
			Name: TablePipelineRuns, Kind: KindRaw, Engine: "ReplacingMergeTree", Version: "ingested_at",
			Columns: []Column{
				col("run_id", "String"),
				dim("pipeline"), dim("team"),
				col("status", "Enum8('success' = 1, 'failure' = 2, 'cancelled' = 3, 'running' = 4)"),
				col("started_at", "DateTime"),
				col("finished_at", "Nullable(DateTime)"),
				col("event_id", "String"),
				col("batch_id", "String"),
				ingestedAt,
			},
			OrderBy: "run_id", TimeColumn: "started_at", ShardKey: "cityHash64(run_id)",
		},
		{
			Name: TableTeams, Kind: KindRaw, Engine: "ReplacingMergeTree", Version: "ingested_at",
			Columns: []Column{
				col("team", "String"),
				col("parent", "String"),
				col("display_name", "String"),
				col("event_id", "String"),
				col("batch_id", "String"),
				ingestedAt,
			},
			OrderBy: "team", ShardKey: "cityHash64(team)",
		},
		{
			Name: TableIngestLedger, Kind: KindLedger, Engine: "MergeTree",
			Columns: []Column{
				col("stream", "String"),
				col("seq", "UInt64"),
				col("kind", "Enum8('batch' = 1, 'erasure' = 2)"),
				col("batch_id", "String"),
				col("row_count", "UInt32"),
				col("content_sha256", "String"),
				col("prev_hash", "String"),
				col("hash", "String"),
				col("received_at", "DateTime"),
				col("actor", "String"),
			},
			// By stream: one stream's chain stays on one shard.
			OrderBy: "(stream, seq)", ShardKey: "cityHash64(stream)",
		},
		rollupTable(TableKPIRollup1m, 60),
		rollupTable(TableKPIRollup1h, 3600),
		rollupTable(TableKPIRollup1d, 86400),
		{
			Name: TableTasksCurrent, Kind: KindCurrent, Engine: "ReplacingMergeTree", Version: "ts",
			Columns: taskColumns(), OrderBy: "task_id", ShardKey: "cityHash64(task_id)",
		},
		migrationsTable(),
	}
}

func migrationsTable() Table {
	return Table{
		Name: TableSchemaMigrations, Kind: KindMigrations, Engine: "MergeTree",
		Columns: []Column{
			col("version", "UInt32"),
			col("name", "String"),
			col("state", "Enum8('started' = 1, 'done' = 2)"),
			col("checksum", "String"),
			col("applied_at", "DateTime"),
		},
		OrderBy: "(version, applied_at)", ShardKey: "rand()",
	}
}

// LookupTable returns the named table's description.
func LookupTable(name string) (Table, bool) {
	tables := Tables()
	i := slices.IndexFunc(tables, func(t Table) bool { return t.Name == name })
	if i < 0 {
		return Table{}, false
	}
	return tables[i], true
}

// StreamTables maps an ingest stream to the table it writes.
func StreamTables() map[string]string {
	return map[string]string{
		"kpi":         TableKPISamples,
		"tasks":       TableTaskEvents,
		"deployments": TableDeployments,
		"incidents":   TableIncidents,
		"pipelines":   TablePipelineRuns,
		"teams":       TableTeams,
	}
}
