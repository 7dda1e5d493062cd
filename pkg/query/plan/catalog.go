package plan

import "strings"

// Table kinds in a Catalog.
const (
	KindRaw    = "raw"
	KindRollup = "rollup"
)

// Catalog describes the tables a plan may read, as the optimizer ABI's
// request carries it ({tables: [{name, kind, resolution_s, columns, rows,
// min_ts, max_ts}]}).
type Catalog struct {
	Tables []Table `json:"tables"`
}

// Table is one table of the catalog.
type Table struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// ResolutionS is a rollup's bucket width in seconds.
	ResolutionS int64    `json:"resolution_s,omitempty"`
	Columns     []Column `json:"columns"`
	// Final says readers must use FINAL (ReplacingMergeTree: one row per key).
	Final bool `json:"final,omitempty"`
	// Labels says the table has the parallel label_keys/label_values arrays.
	Labels bool `json:"labels,omitempty"`
	// Measure is the raw column a rollup's states summarise ("value"); plans
	// aggregate Measure on a rollup as they would on the raw table.
	Measure string `json:"measure,omitempty"`
	// Funcs are the aggregations a rollup can answer over Measure.
	Funcs []string `json:"funcs,omitempty"`
	// Quantiles are the levels a rollup's quantile state holds.
	Quantiles []float64 `json:"quantiles,omitempty"`
	// RollupOf names the raw table whose rows a rollup summarises: a plan on
	// that table may be moved to the rollup (or back), never to a rollup of
	// another table.
	RollupOf string `json:"rollup_of,omitempty"`
	// Rows, MinTS and MaxTS are statistics for optimizer modules (optional).
	Rows  uint64 `json:"rows,omitempty"`
	MinTS int64  `json:"min_ts,omitempty"`
	MaxTS int64  `json:"max_ts,omitempty"`
}

// Column is a column and its ClickHouse type as the schema declares it
// (dimension columns are given as String whatever the server spells them).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Table returns the named table.
func (c Catalog) Table(name string) (Table, bool) {
	for _, t := range c.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// Column returns the named column's type.
func (t Table) Column(name string) (string, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c.Type, true
		}
	}
	return "", false
}

// Answers reports whether a rollup can answer fn (with args) over Measure.
func (t Table) Answers(fn string, args []float64) bool {
	if t.Kind != KindRollup {
		return false
	}
	found := false
	for _, f := range t.Funcs {
		found = found || f == fn
	}
	if !found {
		return false
	}
	if fn == FuncQuantile {
		for _, a := range args {
			ok := false
			for _, q := range t.Quantiles {
				ok = ok || q == a
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

// Type classes used by the checks.
func isDateTime(typ string) bool {
	return typ == "DateTime" || typ == "Nullable(DateTime)"
}

func isNumeric(typ string) bool {
	t := strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	return strings.HasPrefix(t, "Float") || strings.HasPrefix(t, "UInt") || strings.HasPrefix(t, "Int")
}

func isScalar(typ string) bool {
	return !strings.HasPrefix(typ, "Array(") && !strings.HasPrefix(typ, "AggregateFunction(")
}
