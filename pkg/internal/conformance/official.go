package conformance

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/query"
)

// Official is the official plugin's expansions of MacroSQL's queries
// (MacroQuery.Official), each to be compared with kpiflow's answer to its
// query, and the $__adHocFilters query with the official plugin's ad hoc
// filters: a SETTINGS additional_table_filters clause (ClickHouse 22.7+)
// instead of the macro. The modern run compares all of them; Parity those
// 18.16 can answer.
func Official(d dialect.Dialect) ([]Case, error) {
	env := macroEnv(d)
	out, err := officialCases(env, func(MacroQuery) bool { return true })
	if err != nil {
		return nil, err
	}
	sql := strings.Replace(MacroSQL()["$__adHocFilters"][0].SQL, "WHERE $__adHocFilters('kpi_samples') ", "", 1) + "\n" +
		officialAdHoc("kpi_samples", officialAdHocFilters(env.AdHocFilters))
	x, err := query.ExpandMacros(sql, env)
	if err != nil {
		return nil, fmt.Errorf("official ad hoc filters: %w", err)
	}
	return append(out, Case{Name: "official/adHocFilters/official_subset", SQL: x.SQL, Like: "sql/adHocFilters/official_subset"}), nil
}

// Parity is the official plugin's expansions that ClickHouse 18.16 answers
// as a modern server does, each with the kpiflow case it must equal there
// (Like): TestIntegrationMacroParity runs them on the test server.
func Parity(d dialect.Dialect) ([]Case, error) {
	return officialCases(macroEnv(d), func(m MacroQuery) bool { return !m.Modern })
}

func officialCases(env query.MacroEnv, keep func(MacroQuery) bool) ([]Case, error) {
	fill := strings.NewReplacer(
		"{from}", strconv.FormatInt(env.From.Unix(), 10), "{to}", strconv.FormatInt(env.To.Unix(), 10),
		"{from_ms}", strconv.FormatInt(env.From.UnixMilli(), 10), "{to_ms}", strconv.FormatInt(env.To.UnixMilli(), 10),
		"{from_date}", env.From.UTC().Format(time.DateOnly), "{to_date}", env.To.UTC().Format(time.DateOnly),
		"{interval_s}", strconv.FormatInt(max(int64(env.Interval/time.Second), 1), 10),
		"{interval_ms}", strconv.FormatInt(max(env.Interval.Milliseconds(), 1), 10))
	var out []Case
	sqls := MacroSQL()
	for _, name := range slices.Sorted(maps.Keys(sqls)) {
		for i, m := range sqls[name] {
			if m.Official == "" || !keep(m) {
				continue
			}
			x, err := query.ExpandMacros(fill.Replace(m.Official), env)
			if err != nil {
				return nil, fmt.Errorf("official %s query %d: %w", name, i+1, err)
			}
			ref := macroCaseName(name, i)
			out = append(out, Case{Name: "official/" + strings.TrimPrefix(ref, "sql/"), SQL: x.SQL, Like: ref})
		}
	}
	return out, nil
}

// officialAdHocFilters are the filters both plugins mean the same by: the
// official plugin applies a filter keyed to another table to the query's
// table (kpiflow skips it), and its spelling of !~, NOT REGEXP, is not
// ClickHouse syntax (26.7 refuses it), so those are left out.
func officialAdHocFilters(fs []query.AdHocFilter) []query.AdHocFilter {
	var out []query.AdHocFilter
	for _, f := range fs {
		if f.Operator == "!~" || strings.Contains(f.Key, ".") && !strings.HasPrefix(f.Key, "kpi_samples.") {
			continue
		}
		out = append(out, f)
	}
	return out
}

// officialAdHoc is the official plugin's ad hoc filtering (src/data/
// adHocFilter.ts): every filter becomes "key op 'value'" (=~ is REGEXP,
// =| is IN), joined with AND, in a SETTINGS clause for the query's table.
func officialAdHoc(table string, filters []query.AdHocFilter) string {
	ops := map[string]string{"=~": "REGEXP", "!~": "NOT REGEXP", "=|": "IN", "!=|": "NOT IN"}
	lit := func(v string) string { return `\'` + strings.NewReplacer(`\`, `\\\\`, `'`, `\\\'`).Replace(v) + `\'` }
	var parts []string
	for _, f := range filters {
		key := f.Key
		if t, c, ok := strings.Cut(key, "."); ok {
			if t != table {
				continue
			}
			key = c
		}
		op := f.Operator
		if o, ok := ops[op]; ok {
			op = o
		}
		val := lit(f.Value)
		if op == "IN" || op == "NOT IN" {
			items := make([]string, len(f.Values))
			for i, v := range f.Values {
				items[i] = lit(v)
			}
			val = "(" + strings.Join(items, ", ") + ")"
		}
		parts = append(parts, fmt.Sprintf(" %s %s %s ", key, op, val))
	}
	return fmt.Sprintf("settings additional_table_filters={'%s' : '%s'}", table, strings.Join(parts, "AND"))
}
