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

// MacroDocs describes every macro ExpandMacros knows, sorted by name. A test
// holds it to macros(): the same names and argument counts.
func MacroDocs() []MacroDoc {
	docs := []MacroDoc{
		{"$__timeFilter", []string{"col"}, "col within the dashboard's time range, whole seconds"},
		{"$__timeFilter_ms", []string{"col"}, "col within the time range with millisecond bounds (whole seconds, rounded inward, on servers without DateTime64)"},
		{"$__dateFilter", []string{"col"}, "a Date column within the range's UTC days"},
		{"$__timeInterval", []string{"col"}, "the start of col's interval bucket as a DateTime"},
		{"$__timeInterval_ms", []string{"col"}, "the start of col's interval bucket in epoch milliseconds"},
		{"$__interval_s", nil, "the query interval in whole seconds (at least 1)"},
		{"$__interval_ms", nil, "the query interval in milliseconds (at least 1)"},
		{"$__fromTime", nil, "the start of the range as a DateTime"},
		{"$__toTime", nil, "the end of the range as a DateTime"},
		{"$__fromTime_ms", nil, "the start of the range with milliseconds (whole seconds on servers without DateTime64)"},
		{"$__toTime_ms", nil, "the end of the range with milliseconds (whole seconds on servers without DateTime64)"},
		{"$__from", nil, "the start of the range in epoch milliseconds"},
		{"$__to", nil, "the end of the range in epoch milliseconds"},
		{"$__conditionalAll", []string{"condition", "$variable..."}, "condition, or 1=1 when the variable selects All or nothing"},
		{"$__adHocFilters", []string{"'table'"}, "the dashboard's ad hoc filters for that table, joined with AND (1=1 without any)"},
	}
	for i := range docs {
		if docs[i].Args == nil {
			docs[i].Args = []string{} // JSON [], not null
		}
	}
	slices.SortFunc(docs, func(a, b MacroDoc) int { return cmp.Compare(a.Name, b.Name) })
	return docs
}
