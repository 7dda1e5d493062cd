package conformance

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/query"
)

// officialMacros are the official ClickHouse data source's
// (grafana/clickhouse-datasource, pkg/macros) expansions that need a newer
// server than 18.16: DateTime64, toStartOfInterval and
// fromUnixTimestamp64Milli. Users bring queries written for them; on a
// modern server their answers must be kpiflow's.
func officialMacros(env query.MacroEnv) map[string]func(arg string) string {
	ms := func(t int64) string { return fmt.Sprintf("fromUnixTimestamp64Milli(%d)", t) }
	from, to := env.From.UnixMilli(), env.To.UnixMilli()
	return map[string]func(string) string{
		"$__timeFilter_ms": func(c string) string { return fmt.Sprintf("%s >= %s AND %s <= %s", c, ms(from), c, ms(to)) },
		"$__timeInterval": func(c string) string {
			return fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", c, max(int64(env.Interval.Seconds()), 1))
		},
		"$__timeInterval_ms": func(c string) string {
			return fmt.Sprintf("toStartOfInterval(toDateTime64(%s, 3), INTERVAL %d millisecond)", c, max(env.Interval.Milliseconds(), 1))
		},
		"$__fromTime_ms": func(string) string { return ms(from) },
		"$__toTime_ms":   func(string) string { return ms(to) },
	}
}

// Official is MacroSQL's queries with the official plugin's modern
// expansions instead of kpiflow's (other macros expanded by kpiflow for d),
// and the $__adHocFilters query with the official plugin's ad hoc filters:
// a SETTINGS additional_table_filters clause (ClickHouse 22.7+) instead of
// the macro. Each is compared with kpiflow's 18.16 answer to its query.
func Official(d dialect.Dialect) ([]Case, error) {
	env := macroEnv(d)
	official := officialMacros(env)
	var out []Case
	sqls := MacroSQL()
	for _, name := range slices.Sorted(maps.Keys(sqls)) {
		for i, raw := range sqls[name] {
			sql := raw
			used := false
			// Longest names first, so $__timeFilter_ms is not read as $__timeFilter.
			for _, m := range []string{"$__timeInterval_ms", "$__timeFilter_ms", "$__fromTime_ms", "$__toTime_ms", "$__timeInterval"} {
				if m != name {
					continue
				}
				if strings.Contains(sql, m+"(ts)") {
					sql, used = strings.ReplaceAll(sql, m+"(ts)", official[m]("ts")), true
				} else if strings.Contains(sql, m) {
					sql, used = strings.ReplaceAll(sql, m, official[m]("")), true
				}
			}
			ref := fmt.Sprintf("sql/%s/%d", strings.TrimPrefix(name, "$__"), i+1)
			if name == "$__adHocFilters" {
				sql, used = strings.Replace(sql, "WHERE $__adHocFilters('kpi_samples') ", "", 1)+"\n"+
					officialAdHoc("kpi_samples", officialAdHocFilters(env.AdHocFilters)), true
				ref = "sql/adHocFilters/official_subset"
			}
			if !used {
				continue
			}
			expanded, err := query.ExpandMacros(sql, env)
			if err != nil {
				return nil, fmt.Errorf("official %s query %d: %w", name, i+1, err)
			}
			out = append(out, Case{Name: "official/" + strings.TrimPrefix(ref, "sql/"), SQL: expanded, Like: ref})
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
