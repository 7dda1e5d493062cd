package query

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/jsonstrict"
)

// TypeSQL is the raw SQL query type.
const TypeSQL = "sql"

// SQLQuery is the JSON of a queryType "sql" query.
type SQLQuery struct {
	Common
	// RawSQL is the user's SQL, with macros (ExpandMacros).
	RawSQL string `json:"rawSql"`
	// Format is FormatTable (the default) or FormatTimeSeries.
	Format string `json:"format"`
	// AdHocFilters are the dashboard's ad hoc filters, applied where the SQL
	// says $__adHocFilters('table').
	AdHocFilters []AdHocFilter `json:"adhocFilters"`
	// Table and Column are what $__table and $__column stand for (a name,
	// or db.table), as in Grafana's SQL data sources.
	Table  string `json:"table"`
	Column string `json:"column"`
}

// AdHocFilter is one ad hoc filter as Grafana sends it.
type AdHocFilter struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
	// Values are the operands of the one-of operators "=|" and "!=|".
	Values []string `json:"values,omitempty"`
}

// ParseSQLQuery reads a queryType "sql" query strictly: rawSql is required,
// format defaults to table, bad values are errors naming the field, and
// unknown top-level fields are ignored and listed in Ignored.
//
//	q, err := query.ParseSQLQuery([]byte(`{"rawSql": "SELECT 1", "format": "timeseries"}`))
func ParseSQLQuery(raw []byte) (SQLQuery, error) {
	var q SQLQuery
	if err := exactKeys(raw); err != nil {
		return SQLQuery{}, err
	}
	if err := decodeStrict(raw, &q); err != nil {
		return SQLQuery{}, err
	}
	if strings.TrimSpace(q.RawSQL) == "" {
		return SQLQuery{}, fieldErr("rawSql", "required; write a SELECT query")
	}
	switch q.Format {
	case "":
		q.Format = FormatTable
	case FormatTable, FormatTimeSeries:
	default:
		return SQLQuery{}, fieldErr("format", "unknown format %q; expected %q or %q", q.Format, FormatTable, FormatTimeSeries)
	}
	for field, v := range map[string]string{"table": q.Table, "column": q.Column} {
		if v != "" && !adHocKeyRe.MatchString(v) {
			return SQLQuery{}, fieldErr(field, "%q is not a name (letters, digits and _, optionally db.name)", v)
		}
	}
	for i, f := range q.AdHocFilters {
		if err := f.validate(fmt.Sprintf("adhocFilters[%d]", i)); err != nil {
			return SQLQuery{}, err
		}
	}
	return q, nil
}

// exactKeys rejects keys of an ad hoc filter that are not a filter's
// (encoding/json would take "Key" for "key"); the query's own keys are
// decodeStrict's.
func exactKeys(raw []byte) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil // decodeStrict reports the shape
	}
	var filters []map[string]json.RawMessage
	if json.Unmarshal(m["adhocFilters"], &filters) != nil {
		return nil
	}
	for i, f := range filters {
		for k := range f {
			if !slices.Contains(jsonstrict.Keys(AdHocFilter{}), k) {
				return fieldErr(fmt.Sprintf("adhocFilters[%d].%s", i, k), "unknown field; expected key, operator, value or values")
			}
		}
	}
	return nil
}

// adHocKeyRe allows a column or table.column; keys reach the SQL unquoted,
// so nothing else may pass.
var adHocKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func adHocOperators() []string {
	return []string{"=", "!=", "<", ">", "<=", ">=", "=~", "!~", "=|", "!=|"}
}

func (f AdHocFilter) validate(field string) error {
	if !adHocKeyRe.MatchString(f.Key) {
		return fieldErr(field+".key", "%q is not a column name (letters, digits and _, optionally table.column)", f.Key)
	}
	if !slices.Contains(adHocOperators(), f.Operator) {
		return fieldErr(field+".operator", "unknown operator %q; expected one of %s", f.Operator, strings.Join(adHocOperators(), " "))
	}
	return nil
}
