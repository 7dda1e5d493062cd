package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// Rollup says how the rollup tables summarise kpi_samples: per bucket of
// Time and per Dimensions, one aggregate state per State.
//
//	r := schema.KPIRollup()
//	r.States[0] // {Column: "cnt", Func: "count"}: countState() AS cnt, read with countMerge(cnt)
type Rollup struct {
	// Source is the table summarised, SourceTime its time column and
	// Measure the column the states aggregate.
	Source, SourceTime, Measure string
	// Time is the rollups' bucket-start column.
	Time string
	// Dimensions are the columns kept per bucket (the source's dimensions
	// without source and labels).
	Dimensions []string
	// States are the aggregate state columns.
	States []State
	// Quantiles are the levels the quantile state holds.
	Quantiles []float64
}

// State is one aggregate state column of the rollups: Column holds
// Func(Params)(Of...) as an AggregateFunction state.
type State struct {
	Column string
	// Func is the ClickHouse aggregate function (without -State or -Merge).
	Func string
	// Params are the function's parameters ("" for none), as in
	// quantilesTDigest(0.5, 0.9)(value).
	Params string
	// Of are the source columns aggregated, in order.
	Of []string
}

// The rollups' state columns.
const (
	StateCount    = "cnt"
	StateSum      = "sum"
	StateMin      = "min"
	StateMax      = "max"
	StateQuantile = "q"
	StateLast     = "last"
)

// KPIRollup describes the KPI rollups.
func KPIRollup() Rollup {
	levels := []float64{0.5, 0.9, 0.95, 0.99}
	parts := make([]string, len(levels))
	for i, l := range levels {
		parts[i] = strconv.FormatFloat(l, 'g', -1, 64)
	}
	return Rollup{
		Source: TableKPISamples, SourceTime: "ts", Measure: "value", Time: "bucket",
		Dimensions: []string{"metric", "team", "project", "service", "environment"},
		States: []State{
			{Column: StateCount, Func: "count"},
			{Column: StateSum, Func: "sum", Of: []string{"value"}},
			{Column: StateMin, Func: "min", Of: []string{"value"}},
			{Column: StateMax, Func: "max", Of: []string{"value"}},
			{Column: StateQuantile, Func: "quantilesTDigest", Params: strings.Join(parts, ", "), Of: []string{"value"}},
			{Column: StateLast, Func: "argMax", Of: []string{"value", "ts"}},
		},
		Quantiles: levels,
	}
}

// RollupResolutions are the rollups' bucket widths in seconds, finest first.
// There is no 1-minute rollup: it cost 70-80% of the views' ingest time and
// saved ~1.1x or nothing at query time (docs/benchmarks.md, "Rollups"), so
// sub-hour buckets read kpi_samples. See RetiredTables.
func RollupResolutions() []int { return []int{3600, 86400} }

// RollupName is the name of the rollup of a resolution: kpi_rollup_1h,
// kpi_rollup_1d.
func RollupName(seconds int) string { return "kpi_rollup_" + Span(int64(seconds)) }

// Span writes a width in seconds in its largest whole unit: 1d, 2h, 5m, 30s.
func Span(seconds int64) string {
	switch {
	case seconds%86400 == 0:
		return fmt.Sprintf("%dd", seconds/86400)
	case seconds%3600 == 0:
		return fmt.Sprintf("%dh", seconds/3600)
	case seconds%60 == 0:
		return fmt.Sprintf("%dm", seconds/60)
	}
	return fmt.Sprintf("%ds", seconds)
}

// Call is the state's function call with its parameters, with suffix added
// to the function's name: Call("State") is "quantilesTDigestState(0.5, ...)".
func (s State) Call(suffix string) string {
	if s.Params == "" {
		return s.Func + suffix
	}
	return s.Func + suffix + "(" + s.Params + ")"
}

// columnType is the state column's AggregateFunction type.
func (s State) columnType(source Table) string {
	parts := []string{s.Call("")}
	for _, of := range s.Of {
		c, _ := source.Column(of)
		parts = append(parts, c.Type)
	}
	return "AggregateFunction(" + strings.Join(parts, ", ") + ")"
}

// rollupTable describes the rollup of src at a resolution.
func rollupTable(src Table, seconds int) Table {
	r := KPIRollup()
	cols := []Column{timeCol(r.Time)}
	for _, d := range r.Dimensions {
		c, _ := src.Column(d)
		cols = append(cols, Column{Name: c.Name, Type: c.Type, Dimension: c.Dimension})
	}
	for _, s := range r.States {
		cols = append(cols, col(s.Column, s.columnType(src)))
	}
	return Table{
		Name: RollupName(seconds), Kind: KindRollup, Engine: EngineAggregatingMergeTree, Columns: cols, Source: r.Source,
		PartitionBy: monthly(r.Time), OrderBy: append(r.Dimensions[:len(r.Dimensions):len(r.Dimensions)], r.Time),
		TimeColumn: r.Time, ResolutionSeconds: seconds, ShardKey: "rand()",
	}
}
