package query

import (
	"cmp"
	"slices"
)

// MacroDoc describes one raw SQL macro for people: the query editor's
// completion lists these (src/types/sql-editor.json is generated from
// MacroDocs, see pkg/plugin's TestEditorSQLSchema).
type MacroDoc struct {
	// Name is the macro with its $__ prefix.
	Name string `json:"name"`
	// Args names the arguments; none for a macro used without parentheses.
	// A last argument ending in "..." may repeat.
	Args []string `json:"args"`
	// Doc says what the macro becomes, in one sentence.
	Doc string `json:"doc"`
}

// MacroDocs describes every macro ExpandMacros knows, sorted by name. It is
// also where the macros' argument counts come from (argCounts); a test holds
// it to macros(): the same names.
func MacroDocs() []MacroDoc {
	docs := []MacroDoc{
		{"$__timeFilter", []string{"col"}, "col within the dashboard's time range, whole seconds"},
		{"$__timeFilter_ms", []string{"col"}, "col within the time range with millisecond bounds (whole seconds, rounded inward, on servers without DateTime64)"},
		{"$__timeFrom", []string{"col"}, "col at or after the start of the time range"},
		{"$__timeTo", []string{"col"}, "col at or before the end of the time range"},
		{"$__dateFilter", []string{"col"}, "a Date column within the range's UTC days"},
		{"$__dateTimeFilter", []string{"dateCol", "timeCol"}, "$__dateFilter(dateCol) AND $__timeFilter(timeCol), for tables with a Date and a DateTime column"},
		{"$__dt", []string{"dateCol", "timeCol"}, "short for $__dateTimeFilter"},
		{"$__timeInterval", []string{"col"}, "the start of col's interval bucket as a DateTime (col a Date, DateTime or DateTime64)"},
		{"$__timeInterval_ms", []string{"col"}, "the start of col's millisecond interval bucket as a DateTime64(3) (a DateTime, rounded down to the second, on servers without DateTime64)"},
		{"$__timeGroup", []string{"col", "period"}, "the start of col's bucket of a fixed period (5m, 1h, 1d) as a DateTime"},
		{"$__interval", nil, "the query interval as a duration (30s, 5m, 1h)"},
		{"$__interval_s", nil, "the query interval in whole seconds (at least 1)"},
		{"$__interval_ms", nil, "the query interval in milliseconds (at least 1)"},
		{"$__fromTime", nil, "the start of the range as a DateTime"},
		{"$__toTime", nil, "the end of the range as a DateTime"},
		{"$__fromTime_ms", nil, "the start of the range with milliseconds (whole seconds on servers without DateTime64)"},
		{"$__toTime_ms", nil, "the end of the range with milliseconds (whole seconds on servers without DateTime64)"},
		{"$__from", nil, "the start of the range in epoch milliseconds"},
		{"$__to", nil, "the end of the range in epoch milliseconds"},
		{"$__table", nil, "the query's table field"},
		{"$__column", nil, "the query's column field"},
		{"$__conditionalAll", []string{"condition", "$variable..."}, "condition, or 1=1 when the variable selects All or nothing"},
		{"$__adHocFilters", []string{"'table'..."}, "the dashboard's ad hoc filters for those tables, joined with AND (1=1 without any); in SETTINGS, the additional_table_filters setting (ClickHouse 22.7+)"},
		{"$__columns", []string{"timeCol", "key", "value"}, "statement: write it instead of SELECT, then FROM …; one series per key, value per interval bucket"},
		{"$__rateColumns", []string{"timeCol", "key", "value"}, "statement: like $__columns, value divided by the seconds since the series' previous bucket"},
		{"$__perSecondColumns", []string{"timeCol", "key", "value"}, "statement: like $__columns, per-second increase of the counter max(value), nan at a reset"},
		{"$__increaseColumns", []string{"timeCol", "key", "value"}, "statement: like $__columns, increase of the counter max(value) per bucket, nan at a reset"},
		{"$__lttb", []string{"buckets", "x", "y"}, "statement: y over x downsampled to buckets points (a number or auto) by ClickHouse's lttb (23.10+)"},
	}
	for i := range docs {
		if docs[i].Args == nil {
			docs[i].Args = []string{} // JSON [], not null
		}
	}
	slices.SortFunc(docs, func(a, b MacroDoc) int { return cmp.Compare(a.Name, b.Name) })
	return docs
}
