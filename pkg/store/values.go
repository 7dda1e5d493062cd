package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// ValueList names a list of values for template variables and the query
// editor's pickers.
type ValueList string

// The value lists.
const (
	ListMetrics      ValueList = "metrics"
	ListTeams        ValueList = "teams"
	ListProjects     ValueList = "projects"
	ListServices     ValueList = "services"
	ListEnvironments ValueList = "environments"
	ListLabelKeys    ValueList = "label keys"
	ListLabelValues  ValueList = "label values"
)

// MaxValues bounds every value list.
const MaxValues = 1000

// MaxTeamTree bounds the teams TeamTree reads.
const MaxTeamTree = 10_000

// valueSources are the tables and columns each list's values come from. The
// rollups stand for kpi_samples, whose dimensions they keep in far fewer rows.
func valueSources(list ValueList) ([][2]string, bool) {
	roll := schema.TableKPIRollup1d
	switch list {
	case ListMetrics:
		return [][2]string{{roll, "metric"}}, true
	case ListTeams:
		return [][2]string{{schema.TableTeams, "team"}, {roll, "team"}, {schema.TableTasksCurrent, "team"}, {schema.TableDeployments, "team"}}, true
	case ListProjects:
		return [][2]string{{roll, "project"}, {schema.TableTasksCurrent, "project"}}, true
	case ListServices:
		return [][2]string{{roll, "service"}, {schema.TableDeployments, "service"}, {schema.TableIncidents, "service"}}, true
	case ListEnvironments:
		return [][2]string{{roll, "environment"}, {schema.TableDeployments, "environment"}}, true
	}
	return nil, false
}

// valuesSQL is the query of a list, with its arguments.
func valuesSQL(list ValueList, key string) (string, []any, error) {
	limit := fmt.Sprintf(" LIMIT %d", MaxValues)
	q := dialect.Quote
	switch list {
	case ListLabelKeys:
		return "SELECT DISTINCT arrayJoin(" + q(schema.ColLabelKeys) + ") AS v FROM " + q(schema.TableKPISamples) + " ORDER BY v" + limit, nil, nil
	case ListLabelValues:
		return "SELECT DISTINCT " + q(schema.ColLabelValues) + "[indexOf(" + q(schema.ColLabelKeys) + ", ?)] AS v FROM " + q(schema.TableKPISamples) +
			" WHERE has(" + q(schema.ColLabelKeys) + ", ?) AND v != '' ORDER BY v" + limit, []any{key, key}, nil
	}
	sources, ok := valueSources(list)
	if !ok {
		return "", nil, fmt.Errorf("no value list %q", list)
	}
	if len(sources) == 1 {
		return fmt.Sprintf("SELECT DISTINCT %s AS v FROM %s WHERE v != '' ORDER BY v%s", q(sources[0][1]), q(sources[0][0]), limit), nil, nil
	}
	parts := make([]string, len(sources))
	for i, s := range sources {
		parts[i] = fmt.Sprintf("SELECT %s AS v FROM %s", q(s[1]), q(s[0]))
	}
	return "SELECT DISTINCT v FROM (" + strings.Join(parts, " UNION ALL ") + ") WHERE v != '' ORDER BY v" + limit, nil, nil
}

// Values lists the distinct non-empty values of a list, sorted, at most
// MaxValues. key is the label key of ListLabelValues (validated by the
// caller; it is a bound argument either way). The query runs through Query,
// for a.
//
//	teams, err := st.Values(ctx, who, store.ListTeams, "")
func (s *Store) Values(ctx context.Context, a Attribution, list ValueList, key string) ([]string, error) {
	sql, args, err := valuesSQL(list, key)
	if err != nil {
		return nil, err
	}
	rows, err := s.Query(ctx, a, sql, args...)
	if err != nil {
		return nil, Classify(s.settings, fmt.Errorf("list %s: %w", list, err))
	}
	defer rows.Close()
	values := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("list %s: %w", list, err)
		}
		values = append(values, v)
	}
	if err := rows.Err(); err != nil {
		return nil, Classify(s.settings, fmt.Errorf("list %s: %w", list, err))
	}
	return values, nil
}

// TeamTree reads the team tree (team → parent, "" for a root) for teamLevel
// groupings, at most MaxTeamTree teams, through Query for a.
func (s *Store) TeamTree(ctx context.Context, a Attribution) (map[string]string, error) {
	// The LIMIT sits outside the FINAL read: ClickHouse 18.16 fails "Cannot
	// find column ingested_at" on a Distributed table (cluster mode) read
	// with FINAL and LIMIT that leaves out the version column.
	team, parent := dialect.Quote("team"), dialect.Quote("parent")
	rows, err := s.Query(ctx, a, fmt.Sprintf("SELECT %s, %s FROM (SELECT %s, %s FROM %s FINAL) LIMIT %d",
		team, parent, team, parent, dialect.Quote(schema.TableTeams), MaxTeamTree))
	if err != nil {
		return nil, fmt.Errorf("read the team tree for a teamLevel grouping: %w", err)
	}
	defer rows.Close()
	tree := map[string]string{}
	for rows.Next() {
		var team, parent string
		if err := rows.Scan(&team, &parent); err != nil {
			return nil, fmt.Errorf("read the team tree: %w", err)
		}
		tree[team] = parent
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the team tree: %w", err)
	}
	return tree, nil
}
