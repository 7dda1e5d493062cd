package schema

import "slices"

// Table names, as fixed by the design.
const (
	TableKPISamples       = "kpi_samples"
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

	// TableKPIRollup1m is retired: earlier versions created it (and its
	// view), store's migration 4 drops it. Only migrations and settings
	// (which ignore its retention) name it; see RetiredTables.
	TableKPIRollup1m = "kpi_rollup_1m"
)

// Columns several parts of kpiflow treat specially.
const (
	// ColEventID identifies an event; ingest derives it when absent.
	ColEventID = "event_id"
	// ColBatchID names the ingest batch that stored a row.
	ColBatchID = "batch_id"
	// ColIngestedAt is when the row was stored (a server DEFAULT).
	ColIngestedAt = "ingested_at"
	// ColLabelKeys and ColLabelValues hold a row's labels as parallel
	// arrays, sorted by key; the ingest API takes them as one object, labels.
	ColLabelKeys   = "label_keys"
	ColLabelValues = "label_values"
)

// Enum values.
const (
	CategoryTodo       = "todo"
	CategoryInProgress = "in_progress"
	CategoryDone       = "done"

	ResultSuccess   = "success"
	ResultFailure   = "failure"
	ResultRollback  = "rollback"
	ResultCancelled = "cancelled"

	StatusSuccess   = "success"
	StatusFailure   = "failure"
	StatusCancelled = "cancelled"
	StatusRunning   = "running"

	LedgerBatch   = "batch"
	LedgerErasure = "erasure"

	MigrationStarted = "started"
	MigrationDone    = "done"
)

// StateCategories are task_events.state_category's values, in flow order.
func StateCategories() []string { return []string{CategoryTodo, CategoryInProgress, CategoryDone} }

// DeploymentResults are deployments.result's values.
func DeploymentResults() []string {
	return []string{ResultSuccess, ResultFailure, ResultRollback, ResultCancelled}
}

// PipelineStatuses are pipeline_runs.status's values.
func PipelineStatuses() []string {
	return []string{StatusSuccess, StatusFailure, StatusCancelled, StatusRunning}
}

// LedgerKinds are ingest_ledger.kind's values.
func LedgerKinds() []string { return []string{LedgerBatch, LedgerErasure} }

// MigrationStates are schema_migrations.state's values.
func MigrationStates() []string { return []string{MigrationStarted, MigrationDone} }

// Column constructors keep the table list below readable.
func col(name, typ string) Column { return Column{Name: name, Type: typ} }
func dim(name string) Column      { return Column{Name: name, Type: "String", Dimension: true} }
func str(name string) Column      { return Column{Name: name, Type: "String"} }
func req(c Column) Column         { c.Required = true; return c }
func enum(name string, values []string) Column {
	return Column{Name: name, Type: enumType(values), Enum: values, Required: true}
}

// timeCol is a DateTime column stored with delta encoding where codecs exist.
func timeCol(name string) Column { return Column{Name: name, Type: "DateTime", Codec: "Delta, LZ4"} }

// ingestColumns end every table an ingest stream writes.
func ingestColumns() []Column {
	return []Column{str(ColEventID), str(ColBatchID), {Name: ColIngestedAt, Type: "DateTime", Default: "now()"}}
}

func monthly(col string) string { return "toYYYYMM(" + col + ")" }

func taskColumns() []Column {
	return append([]Column{
		req(timeCol("ts")),
		req(str("task_id")),
		dim("project"), dim("team"),
		{Name: "title", Type: "String", Text: true},
		dim("kind"), dim("state"),
		enum("state_category", StateCategories()),
		{Name: "assignee", Type: "String", Personal: true},
		col("points", "Float64"),
		str("parent_id"),
		col("blocked_by", "Array(String)"),
	}, ingestColumns()...)
}

// Tables describes every kpiflow table, in creation order.
func Tables() []Table {
	tables := []Table{
		{
			Name: TableKPISamples, Kind: KindRaw, Stream: StreamKPI, Engine: EngineMergeTree,
			Columns: append([]Column{
				req(timeCol("ts")),
				req(dim("metric")),
				req(col("value", "Float64")),
				dim("team"), dim("project"), dim("service"), dim("environment"), dim("source"),
				{Name: ColLabelKeys, Type: "Array(String)", Codec: "ZSTD(1)"},
				{Name: ColLabelValues, Type: "Array(String)", Codec: "ZSTD(1)"},
			}, ingestColumns()...),
			PartitionBy: monthly("ts"), OrderBy: []string{"metric", "team", "ts"}, TimeColumn: "ts", ShardKey: "rand()",
		},
		{
			Name: TableTaskEvents, Kind: KindRaw, Stream: StreamTasks, Engine: EngineMergeTree, Columns: taskColumns(),
			PartitionBy: monthly("ts"), OrderBy: []string{"project", "task_id", "ts"}, TimeColumn: "ts",
			// By task, so that tasks_current (fed on each shard) holds every
			// event of a task on one shard.
			ShardKey: "cityHash64(task_id)",
		},
		{
			Name: TableDeployments, Kind: KindRaw, Stream: StreamDeployments, Engine: EngineReplacingMergeTree, Version: ColIngestedAt,
			Columns: append([]Column{
				req(col("finished_at", "DateTime")),
				req(str("deployment_id")),
				dim("service"), dim("team"), dim("environment"),
				enum("result", DeploymentResults()),
				str("commit_sha"),
				col("first_commit_at", "Nullable(DateTime)"),
				dim("pipeline"),
			}, ingestColumns()...),
			OrderBy: []string{"deployment_id"}, TimeColumn: "finished_at", ShardKey: "cityHash64(deployment_id)",
		},
		{
			Name: TableIncidents, Kind: KindRaw, Stream: StreamIncidents, Engine: EngineReplacingMergeTree, Version: ColIngestedAt,
			Columns: append([]Column{
				req(str("incident_id")),
				dim("service"), dim("team"), dim("severity"),
				req(col("opened_at", "DateTime")),
				col("resolved_at", "Nullable(DateTime)"),
				str("caused_by_deployment"),
			}, ingestColumns()...),
			OrderBy: []string{"incident_id"}, TimeColumn: "opened_at", ShardKey: "cityHash64(incident_id)",
		},
		{
			Name: TablePipelineRuns, Kind: KindRaw, Stream: StreamPipelines, Engine: EngineReplacingMergeTree, Version: ColIngestedAt,
			Columns: append([]Column{
				req(str("run_id")),
				req(dim("pipeline")), dim("team"),
				enum("status", PipelineStatuses()),
				req(col("started_at", "DateTime")),
				col("finished_at", "Nullable(DateTime)"),
			}, ingestColumns()...),
			OrderBy: []string{"run_id"}, TimeColumn: "started_at", ShardKey: "cityHash64(run_id)",
		},
		{
			Name: TableTeams, Kind: KindRaw, Stream: StreamTeams, Engine: EngineReplacingMergeTree, Version: ColIngestedAt,
			Columns: append([]Column{
				req(str("team")),
				str("parent"),
				{Name: "display_name", Type: "String", Text: true},
			}, ingestColumns()...),
			OrderBy: []string{"team"}, ShardKey: "cityHash64(team)",
		},
		{
			Name: TableIngestLedger, Kind: KindLedger, Engine: EngineMergeTree,
			Columns: []Column{
				str("stream"),
				col("seq", "UInt64"),
				enum("kind", LedgerKinds()),
				str(ColBatchID),
				col("row_count", "UInt32"),
				str("content_sha256"),
				str("prev_hash"),
				str("hash"),
				col("received_at", "DateTime"),
				str("actor"),
			},
			// By stream: one stream's chain stays on one shard.
			OrderBy: []string{"stream", "seq"}, ShardKey: "cityHash64(stream)",
		},
	}
	src := tables[slices.IndexFunc(tables, func(t Table) bool { return t.Name == KPIRollup().Source })]
	for _, r := range RollupResolutions() {
		tables = append(tables, rollupTable(src, r))
	}
	tables = append(tables,
		Table{
			Name: TableTasksCurrent, Kind: KindCurrent, Engine: EngineReplacingMergeTree, Version: "ts",
			Columns: taskColumns(), Source: TableTaskEvents, OrderBy: []string{"task_id"}, ShardKey: "cityHash64(task_id)",
		},
		Table{
			Name: TableSchemaMigrations, Kind: KindMigrations, Engine: EngineMergeTree,
			Columns: []Column{
				col("version", "UInt32"),
				str("name"),
				enum("state", MigrationStates()),
				str("checksum"),
				col("applied_at", "DateTime"),
			},
			OrderBy: []string{"version", "applied_at"}, ShardKey: "rand()",
		},
	)
	return tables
}

// RetiredTables describes the tables earlier versions of kpiflow created and
// this one removes with a migration (package store), as they were: the
// 1-minute rollup (fed by its materialized view, like every rollup). They are
// in no other list of this package: Tables, Lookup and RetentionTables do not
// know them.
func RetiredTables() []Table {
	src, _ := Lookup(KPIRollup().Source)
	return []Table{rollupTable(src, 60)}
}
