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
// Queries run through store.Query: attributed to the user and dashboard
// (attribution.go), read-only, with the Query timeout as
// max_execution_time, and killed on the server when the request is
// cancelled.
func (inst *Instance) queryBuilder(ctx context.Context, pc backend.PluginContext, queryType string, q backend.DataQuery) backend.DataResponse {
	st, parsed, prepared, errResp := inst.prepareBuilder(ctx, pc, queryType, q)
	if errResp != nil || prepared == nil {
		return answerOrEmpty(errResp)
	}
	return inst.answerBuilder(ctx, pc, queryType, q, st, parsed, prepared)
}

// answerBuilder runs a prepared builder query and shapes its whole result
// (with a live channel when the query asks for one).
func (inst *Instance) answerBuilder(ctx context.Context, pc backend.PluginContext, queryType string, q backend.DataQuery,
	st *store.Store, parsed query.Query, prepared *query.Prepared) backend.DataResponse {
	var stream *query.LiveStream
	var channel string
	notices := append(parsed.Base().IgnoredNotices(), prepared.Notices...)
	if parsed.Base().Live {
		// Before the snapshot: see startLive.
		var notice string
		if stream, channel, notice = inst.startLive(ctx, pc, queryType, prepared); notice != "" {
			notices = append(notices, notice)
		}
	}
	res, executed, readNotices, errResp := inst.readPlan(ctx, st, pc, queryType+" query", prepared.SQL, prepared.Args)
	if errResp != nil {
		return *errResp
	}
	shape := prepared.Shape
	if stream != nil {
		shape = stream.Answer
	}
	out, err := shape(res)
	if err != nil {
		return backend.ErrorResponseWithErrorSource(backend.PluginError(fmt.Errorf("shape the %s result: %w", queryType, err)))
	}
	stampFrames(out, q.RefID, executed, notices, readNotices)
	if channel != "" && len(out) > 0 {
		out[0].Meta.Channel = channel
	}
	return backend.DataResponse{Frames: out}
}

// prepareBuilder parses a builder query and runs it through the pipeline
// (nil prepared for a hidden query), or answers why it cannot.
func (inst *Instance) prepareBuilder(ctx context.Context, pc backend.PluginContext, queryType string, q backend.DataQuery) (*store.Store, query.Query, *query.Prepared, *backend.DataResponse) {
	fail := func(r backend.DataResponse) (*store.Store, query.Query, *query.Prepared, *backend.DataResponse) {
		return nil, nil, nil, &r
	}
	st, err := inst.ready()
	if err != nil {
		return fail(backend.ErrorResponseWithErrorSource(err))
	}
	parsed, err := query.Parse(queryType, q.JSON)
	if err != nil {
		return fail(badRequest(err))
	}
	if parsed.Base().Hide {
		return st, parsed, nil, nil
	}
	env := query.Env{From: q.TimeRange.From, To: q.TimeRange.To, Interval: q.Interval,
		MaxDataPoints: q.MaxDataPoints, MaxRows: inst.settings.MaxRows}
	if kq, ok := parsed.(*query.KPIQuery); ok && kq.NeedsTeamTree() {
		if env.TeamParents, err = st.TeamTree(ctx, attributionFor(ctx, pc)); err != nil {
			return fail(inst.clickhouseError(ctx, err))
		}
	}
	var prepared *query.Prepared
	if r := inst.withServerCatalog(ctx, st, &env, queryType+" query", func() (err error) {
		prepared, err = inst.pipeline.Prepare(ctx, parsed, env)
		return err
	}); r != nil {
		return nil, nil, nil, r
	}
	return st, parsed, prepared, nil
}

// withServerCatalog sets env.Catalog to the server's tables, read at most
// store.CatalogMaxAge ago, and calls prepare; a table missing from that
// catalog is looked for once more in a fresh read, so a schema migrated
// meanwhile is seen at once. It answers the error response for what
// (such as "kpi query") when preparing fails.
func (inst *Instance) withServerCatalog(ctx context.Context, st *store.Store, env *query.Env, what string, prepare func() error) *backend.DataResponse {
	for _, maxAge := range []time.Duration{store.CatalogMaxAge, 0} {
		stats, err := st.TableStats(ctx, maxAge)
		if err != nil {
			r := inst.clickhouseError(ctx, fmt.Errorf("read the tables of the database: %w", err))
			return &r
		}
		env.Catalog = inst.catalogs.of(inst.catalog, stats)
		err = prepare()
		var fe *query.FieldError
		var missing *query.MissingTableError
		switch {
		case errors.As(err, &missing) && maxAge > 0:
			continue
		case errors.As(err, &fe), errors.As(err, &missing):
			r := badRequest(err)
			return &r
		case err != nil:
			// Our own plans must validate: a failure here is a kpiflow bug.
			r := backend.ErrorResponseWithErrorSource(backend.PluginError(fmt.Errorf("plan the %s: %w", what, err)))
			return &r
		}
		return nil
	}
	return nil
}

// readPlan runs one read-only, attributed query and returns its result as
// one long frame, the executed text (with its arguments) and the reader's
// notices (a result cut at Max rows), or the error answer. what names the
// query in errors ("kpi query").
func (inst *Instance) readPlan(ctx context.Context, st *store.Store, pc backend.PluginContext, what, sql string, args []any) (*data.Frame, string, []data.Notice, *backend.DataResponse) {
	fail := func(r backend.DataResponse) (*data.Frame, string, []data.Notice, *backend.DataResponse) {
		return nil, "", nil, &r
	}
	rows, err := st.Query(ctx, attributionFor(ctx, pc), sql, args...)
	if err != nil {
		return fail(inst.clickhouseError(ctx, fmt.Errorf("run the %s: %w", what, err)))
	}
	// Rows left unread (the cap cut the result, or reading failed) are
	// killed on the server by Close instead of being read to the end.
	res, notices, err := frames.ReadAll(ctx, rows, inst.settings.MaxRows)
	_ = rows.Close()
	if err != nil {
		var unsupported *frames.UnsupportedColumnTypeError
		if errors.As(err, &unsupported) {
			return fail(backend.ErrorResponseWithErrorSource(backend.PluginError(fmt.Errorf("read the %s result: %w", what, err))))
		}
		return fail(inst.clickhouseError(ctx, fmt.Errorf("read the %s result: %w", what, err)))
	}
	if rows.Cut() {
		notices = append(notices, cutNotice(rows, res.Rows()))
	}
	return res, executedQuery(rows.SQL, args), notices, nil
}

// stampFrames gives every frame of an answer its refId and the executed SQL;
// notices go on the first frame only, so a panel with many series does not
// repeat them once per series.
func stampFrames(out data.Frames, refID, executed string, notices []string, extra []data.Notice) {
	for i, f := range out {
		f.RefID = refID
		if f.Meta == nil {
			f.Meta = &data.FrameMeta{}
		}
		f.Meta.ExecutedQueryString = executed
		if i == 0 {
			for _, n := range notices {
				f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: n})
			}
			f.Meta.Notices = append(f.Meta.Notices, extra...)
		}
	}
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
