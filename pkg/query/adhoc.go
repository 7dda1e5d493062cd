package query

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/dialect"
)

// adHocFilters expands $__adHocFilters('table', ...) into the dashboard's
// ad hoc filters for those tables: the filters whose key is a plain column,
// or table.column of one of them. Keys are validated identifiers; values
// become escaped string literals (numbers for comparisons), never SQL.
//
// In a WHERE (or anywhere but SETTINGS) it is their conjunction, 1=1 when
// none apply. In a SETTINGS clause, the official ClickHouse data source's
// form, it is the additional_table_filters setting, which filters every read
// of each table; servers without that setting (before 22.7) drop the macro
// when no filter applies and refuse it otherwise, as the official plugin
// refuses ad hoc filters there.
func adHocFilters(x *expander, args []string, at site) (string, error) {
	tables := make([]string, len(args))
	for i, a := range args {
		tables[i] = unquote(a)
		if !adHocKeyRe.MatchString(tables[i]) {
			return "", macroErr("adHocFilters", "expects table names like 'kpi_samples', got %s", a)
		}
	}
	x.adHoc = true
	if !at.settings {
		conds, err := adHocConditions(x.env.AdHocFilters, tables...)
		if err != nil || len(conds) == 0 {
			return "1=1", err
		}
		return "(" + strings.Join(conds, " AND ") + ")", nil
	}
	var entries []string
	for _, t := range tables {
		conds, err := adHocConditions(x.env.AdHocFilters, t)
		if err != nil {
			return "", err
		}
		if len(conds) > 0 {
			entries = append(entries, sqlString(t)+": "+sqlString(strings.Join(conds, " AND ")))
		}
	}
	switch {
	case x.env.Dialect.Features.AdditionalTableFilters:
		return "additional_table_filters={" + strings.Join(entries, ", ") + "}", nil
	case len(entries) == 0:
		return "", nil
	}
	return "", macroErr("adHocFilters", "in SETTINGS it applies the ad hoc filters through the additional_table_filters setting, "+
		"which ClickHouse %s does not have (22.7 and later do); write WHERE $__adHocFilters(%s) instead, which works on every version",
		x.env.Dialect.Version, strings.Join(args, ", "))
}

// adHocConditions are the conditions of the filters that apply to one of
// tables (given as table or db.table).
func adHocConditions(filters []AdHocFilter, tables ...string) ([]string, error) {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t[strings.LastIndexByte(t, '.')+1:] // db.table: keys name the table alone
	}
	var conds []string
	for i, f := range filters {
		if err := f.validate(fmt.Sprintf("adhocFilters[%d]", i)); err != nil {
			return nil, err
		}
		col := f.Key
		if t, c, ok := strings.Cut(f.Key, "."); ok {
			if !slices.Contains(names, t) {
				continue
			}
			col = c
		}
		conds = append(conds, adHocCondition(col, f))
	}
	return conds, nil
}

func adHocCondition(col string, f AdHocFilter) string {
	col = dialect.Quote(col)
	switch f.Operator {
	case "=~":
		return fmt.Sprintf("match(toString(%s), %s)", col, sqlString(f.Value))
	case "!~":
		return fmt.Sprintf("NOT match(toString(%s), %s)", col, sqlString(f.Value))
	case "=|", "!=|":
		vals := f.Values
		if len(vals) == 0 {
			vals = []string{f.Value}
		}
		lits := make([]string, len(vals))
		for i, v := range vals {
			lits[i] = sqlString(v)
		}
		op := "IN"
		if f.Operator == "!=|" {
			op = "NOT IN"
		}
		return fmt.Sprintf("toString(%s) %s (%s)", col, op, strings.Join(lits, ", "))
	case "<", ">", "<=", ">=":
		if n, err := strconv.ParseFloat(f.Value, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
			return fmt.Sprintf("%s %s %s", col, f.Operator, strconv.FormatFloat(n, 'g', -1, 64))
		}
		return fmt.Sprintf("%s %s %s", col, f.Operator, sqlString(f.Value))
	}
	// = and != compare as text, so the filter works on String, Enum, number
	// and date columns alike (ClickHouse 18.16 does not compare a number
	// column with a string literal).
	return fmt.Sprintf("toString(%s) %s %s", col, f.Operator, sqlString(f.Value))
}

// sqlString quotes s as a ClickHouse string literal. Backslash and quote are
// escaped, control characters and $ are written as \xHH so the literal is one
// line and never looks like a macro to a later expansion.
func sqlString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f || c == '$':
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"' || s[0] == '`') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
