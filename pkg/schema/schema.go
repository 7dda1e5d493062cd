package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Kind says what a table holds.
type Kind string

// The table kinds.
const (
	KindRaw        Kind = "raw"        // rows as ingested
	KindRollup     Kind = "rollup"     // aggregate states, fed by a materialized view
	KindCurrent    Kind = "current"    // latest row per key, fed by a materialized view
	KindLedger     Kind = "ledger"     // the ingest ledger
	KindMigrations Kind = "migrations" // schema_migrations
)

// Engine families, without the Replicated prefix cluster mode adds.
const (
	EngineMergeTree            = "MergeTree"
	EngineAggregatingMergeTree = "AggregatingMergeTree"
	EngineReplacingMergeTree   = "ReplacingMergeTree"
)

// Column is one column of a kpiflow table.
type Column struct {
	Name string
	// Type is the column's type on every server. A Dimension column is
	// String here and LowCardinality(String) where the server has it.
	Type string
	// Dimension marks a low-cardinality string dimension.
	Dimension bool
	// Default is the column's DEFAULT expression. Columns with one are left
	// out of inserts (see Table.InsertColumns).
	Default string
	// Codec is the compression codec, used only where the server has codecs.
	Codec string
	// Enum lists an Enum8 column's values, numbered from 1 in this order;
	// Type is spelled from them.
	Enum []string

	// How the ingest API takes the column (see Stream.Fields).

	// Required: the key must be present (and a string not empty).
	Required bool
	// Text marks free text (titles, names), which may be longer than ids
	// and dimensions.
	Text bool
	// Personal marks a column naming a person: erasable on request, and
	// hashed into the ledger by its subject hash.
	Personal bool
}

// Table describes one kpiflow table.
//
//	t, _ := schema.Lookup(schema.TableDeployments)
//	t.Final()            // true: ReplacingMergeTree, read with FINAL
//	t.Column("result")   // its Enum lists the deployment results
type Table struct {
	Name    string
	Kind    Kind
	Columns []Column
	// Stream is the ingest stream that writes the table ("" for none).
	Stream string
	// Engine is an engine family (EngineMergeTree, ...).
	Engine string
	// Version is ReplacingMergeTree's version column ("" for none).
	Version string
	// PartitionBy is the partition expression ("" for an unpartitioned table).
	PartitionBy string
	// OrderBy lists the sorting key's columns.
	OrderBy []string
	// TimeColumn is the column retention counts from ("" when retention
	// does not apply to the table).
	TimeColumn string
	// ResolutionSeconds is a rollup's bucket width.
	ResolutionSeconds int
	// Source is the table a materialized view fills this one from ("" for
	// tables written directly).
	Source string
	// ShardKey is the Distributed table's sharding expression in cluster
	// mode. Tables that collapse rows per key shard by that key, so that
	// every row of one key lands on one shard where FINAL can merge them.
	ShardKey string
}

// Column returns the named column.
func (t Table) Column(name string) (Column, bool) {
	i := slices.IndexFunc(t.Columns, func(c Column) bool { return c.Name == name })
	if i < 0 {
		return Column{}, false
	}
	return t.Columns[i], true
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

// Final reports whether readers must use FINAL: the engine keeps one row per
// key only after merges.
func (t Table) Final() bool { return t.Engine == EngineReplacingMergeTree }

// Labels reports whether the table has the parallel label_keys and
// label_values arrays.
func (t Table) Labels() bool {
	_, ok := t.Column(ColLabelKeys)
	return ok
}

// SortingKey is the ORDER BY expression: the one column, or the columns in
// parentheses.
func (t Table) SortingKey() string {
	if len(t.OrderBy) == 1 {
		return t.OrderBy[0]
	}
	return "(" + strings.Join(t.OrderBy, ", ") + ")"
}

// Lookup returns the named table's description.
func Lookup(name string) (Table, bool) {
	tables := Tables()
	i := slices.IndexFunc(tables, func(t Table) bool { return t.Name == name })
	if i < 0 {
		return Table{}, false
	}
	return tables[i], true
}

// RetentionTables lists the tables retention can be configured for: those
// with a time column, in creation order.
func RetentionTables() []string {
	var out []string
	for _, t := range Tables() {
		if t.TimeColumn != "" {
			out = append(out, t.Name)
		}
	}
	return out
}

// enumType spells the Enum8 type of values, numbered from 1.
func enumType(values []string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("'%s' = %d", v, i+1)
	}
	return "Enum8(" + strings.Join(parts, ", ") + ")"
}

// TableStats is what the server reports about one of kpiflow's tables
// (store reads it; the planner's catalog carries it to optimizer modules):
// that the table exists, how many rows it holds and the time span of its
// rows in Unix seconds (0 when the server does not know it).
type TableStats struct {
	Table        string
	Rows         uint64
	MinTS, MaxTS int64
}
