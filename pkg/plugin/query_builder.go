package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// Builder query types, as in the query model of DESIGN.md.
const (
	QueryTypeKPI      = query.TypeKPI
	QueryTypeDORA     = query.TypeDORA
	QueryTypeTaskflow = query.TypeTaskflow
)

// maxTeamTree bounds the teams read for teamLevel groupings.
const maxTeamTree = 10_000

// registerBuilderQueries registers the builder query types (kpi, dora,
// taskflow; forecast comes with its issue).
func registerBuilderQueries(mux *datasource.QueryTypeMux, inst *Instance) {
	for _, qt := range []string{QueryTypeKPI, QueryTypeDORA, QueryTypeTaskflow} {
		mux.HandleFunc(qt, inst.perQuery(func(ctx context.Context, pc backend.PluginContext, q backend.DataQuery) backend.DataResponse {
			return inst.queryBuilder(ctx, pc, qt, q)
		}))
	}
}

// queryBuilder answers one builder query: JSON → plan → SQL → ClickHouse →
// frames. Nothing depends on the caller: a dashboard and an alert rule
// (header FromAlert: true) get the same frames.
//
// Queries run through startQuery (attribution.go): attributed to the user and
// dashboard, read-only, with the Query timeout as max_execution_time, and
// killed on the server when the request is cancelled.
func (inst *Instance) queryBuilder(ctx context.Context, pc backend.PluginContext, queryType string, q backend.DataQuery) backend.DataResponse {
	st, err := inst.ready()
	if err != nil {
		return backend.ErrorResponseWithErrorSource(err)
	}
	parsed, err := query.Parse(queryType, q.JSON)
	if err != nil {
		return badRequest(err)
	}
	if parsed.Base().Hide {
		return backend.DataResponse{}
	}
	env := query.Env{From: q.TimeRange.From, To: q.TimeRange.To, Interval: q.Interval,
		MaxDataPoints: q.MaxDataPoints, MaxRows: inst.settings.MaxRows}
	if kq, ok := parsed.(*query.KPIQuery); ok && kq.NeedsTeamTree() {
		if env.TeamParents, err = inst.teamTree(ctx, st, pc); err != nil {
			return inst.clickhouseError(ctx, err)
		}
	}
	// The server's catalog, read at most store.CatalogMaxAge ago; a table
	// missing from it is looked for once more in a fresh read, so a schema
	// migrated meanwhile is seen at once.
	var prepared *query.Prepared
	for _, maxAge := range []time.Duration{store.CatalogMaxAge, 0} {
		stats, err := st.TableStats(ctx, maxAge)
		if err != nil {
			return inst.clickhouseError(ctx, fmt.Errorf("read the tables of the database: %w", err))
		}
		env.Catalog = query.ServerCatalog(stats)
		prepared, err = inst.pipeline.Prepare(ctx, parsed, env)
		var fe *query.FieldError
		var missing *query.MissingTableError
		switch {
		case errors.As(err, &missing) && maxAge > 0:
			continue
		case errors.As(err, &fe), errors.As(err, &missing):
			return badRequest(err)
		case err != nil:
			// Our own plans must validate: a failure here is a kpiflow bug.
			return backend.ErrorResponseWithErrorSource(backend.PluginError(fmt.Errorf("plan the %s query: %w", queryType, err)))
		}
		break
	}
	sql, args := prepared.SQL, prepared.Args
	rq, err := inst.startQuery(ctx, st, pc, true, sql, args...)
	if err != nil {
		return inst.clickhouseError(ctx, fmt.Errorf("run the %s query: %w", queryType, err))
	}
	res, readNotices, err := frames.ReadAll(ctx, rq.Rows, inst.settings.MaxRows)
	// Rows are left unread when the cap cut the result or reading failed;
	// Close kills the query then, instead of reading the rest.
	rq.Close(err == nil && len(readNotices) == 0)
	if err != nil {
		var unsupported *frames.UnsupportedColumnTypeError
		if errors.As(err, &unsupported) {
			return backend.ErrorResponseWithErrorSource(backend.PluginError(fmt.Errorf("read the %s result: %w", queryType, err)))
		}
		return inst.clickhouseError(ctx, fmt.Errorf("read the %s result: %w", queryType, err))
	}
	out, err := prepared.Shape(res)
	if err != nil {
		return backend.ErrorResponseWithErrorSource(backend.PluginError(fmt.Errorf("shape the %s result: %w", queryType, err)))
	}
	executed := executedQuery(rq.SQL, args)
	for i, f := range out {
		f.RefID = q.RefID
		if f.Meta == nil {
			f.Meta = &data.FrameMeta{}
		}
		f.Meta.ExecutedQueryString = executed
		// Notices go on the first frame only, so a panel with many series
		// does not repeat them once per series.
		if i == 0 {
			for _, n := range prepared.Notices {
				f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: n})
			}
			f.Meta.Notices = append(f.Meta.Notices, readNotices...)
		}
	}
	return backend.DataResponse{Frames: out}
}

// executedQuery is the SQL with its bound arguments listed after it, for the
// query inspector (clickhouse-go binds them client-side).
func executedQuery(sql string, args []any) string {
	if len(args) == 0 {
		return sql
	}
	b, err := json.Marshal(args)
	if err != nil {
		return sql
	}
	return sql + "\n-- arguments, in order: " + strings.ReplaceAll(string(b), "\n", " ")
}

// teamTree reads the team tree (team → parent) for teamLevel groupings.
func (inst *Instance) teamTree(ctx context.Context, st *store.Store, pc backend.PluginContext) (map[string]string, error) {
	rq, err := inst.startQuery(ctx, st, pc, true, fmt.Sprintf("SELECT team, parent FROM teams FINAL LIMIT %d", maxTeamTree))
	if err != nil {
		return nil, fmt.Errorf("read the team tree for a teamLevel grouping: %w", err)
	}
	defer rq.Close(true)
	tree := map[string]string{}
	for rq.Rows.Next() {
		var team, parent string
		if err := rq.Rows.Scan(&team, &parent); err != nil {
			return nil, fmt.Errorf("read the team tree: %w", err)
		}
		tree[team] = parent
	}
	if err := rq.Rows.Err(); err != nil {
		return nil, fmt.Errorf("read the team tree: %w", err)
	}
	return tree, nil
}
