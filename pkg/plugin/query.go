package plugin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental/concurrent"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// Query types, as in the query model of DESIGN.md.
const (
	QueryTypeSQL = query.TypeSQL
)

// newQueryMux registers every queryType once; registering one twice panics in
// the SDK, so a wiring mistake fails when the plugin starts.
func newQueryMux(inst *Instance) *datasource.QueryTypeMux {
	mux := datasource.NewQueryTypeMux()
	mux.HandleFunc(QueryTypeSQL, inst.perQuery(inst.querySQL))
	registerBuilderQueries(mux, inst)
	mux.HandleFunc(QueryTypeForecast, inst.perQuery(inst.queryForecast))
	mux.HandleFunc("", inst.perQuery(unknownQueryType))
	return mux
}

// unknownQueryType answers a query whose queryType no handler took.
func unknownQueryType(_ context.Context, _ backend.PluginContext, q backend.DataQuery) backend.DataResponse {
	expected := `expected one of "` + strings.Join([]string{QueryTypeKPI, QueryTypeDORA, QueryTypeTaskflow, QueryTypeForecast, QueryTypeSQL}, `", "`) + `"`
	var msg string
	switch q.QueryType {
	case "":
		msg = "queryType: required; " + expected
	default:
		msg = fmt.Sprintf("queryType: unknown query type %q; %s", q.QueryType, expected)
	}
	return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, msg)
}

type queryFunc func(ctx context.Context, pc backend.PluginContext, q backend.DataQuery) backend.DataResponse

// maxConcurrentQueries bounds the queries of one request that run at once
// (the query pool has poolSize connections, 10 by default, shared with
// variables and other requests).
const maxConcurrentQueries = 5

// QueryData answers a request's queries concurrently, at most
// maxConcurrentQueries at once and in no particular order (responses are
// keyed by refId, as in grafana/sqlds), each by the handler of its
// queryType: a panel with several queries waits for the slowest, not for
// their sum. The request's headers travel in ctx for attribution
// (attribution.go), and the request's place in line for a connection
// (store.Admit): when every connection is busy, earlier requests' queries
// go first.
func (inst *Instance) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	ctx = withRequestHeaders(ctx, req.Headers)
	ctx = withArrowWire(ctx, inst.wire, req.Format)
	if inst.store != nil {
		ctx = inst.store.Admit(ctx)
	}
	return concurrent.QueryData(ctx, req, func(ctx context.Context, q concurrent.Query) backend.DataResponse {
		one := &backend.QueryDataRequest{PluginContext: q.PluginContext, Headers: req.Headers, Queries: []backend.DataQuery{q.DataQuery}}
		resp, err := inst.queries.QueryData(ctx, one)
		if err != nil {
			return backend.ErrorResponseWithErrorSource(err)
		}
		return resp.Responses[q.DataQuery.RefID]
	}, maxConcurrentQueries)
}

// perQuery answers each query of a request on its own, so one bad query does
// not fail the panel's others. Every query's time range is first fitted
// into what ClickHouse's DateTime holds (query.ClampTimeRange): clamped with
// a notice, or refused naming the field. The SDK wraps times past 2262
// around; query.UnwrapSDKTime recovers what Grafana sent.
func (inst *Instance) perQuery(fn queryFunc) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		for _, q := range req.Queries {
			from, to, clamped, err := query.ClampTimeRange(query.UnwrapSDKTime(q.TimeRange.From), query.UnwrapSDKTime(q.TimeRange.To))
			if err != nil {
				resp.Responses[q.RefID] = badRequest(err)
				continue
			}
			q.TimeRange.From, q.TimeRange.To = from, to
			r := fn(ctx, req.PluginContext, q)
			if len(clamped) > 0 && len(r.Frames) > 0 {
				f := r.Frames[0]
				if f.Meta == nil {
					f.Meta = &data.FrameMeta{}
				}
				for _, n := range clamped {
					f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: n})
				}
			}
			resp.Responses[q.RefID] = r
		}
		return resp, nil
	}
}

// badRequest is a downstream 400 answer: the query itself must change.
func badRequest(err error) backend.DataResponse {
	return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
}

// withExecuted adds an empty frame carrying the executed SQL to an error
// answer, so the query inspector shows what ClickHouse was given, macros
// expanded, next to ClickHouse's complaint about it.
func withExecuted(r backend.DataResponse, sql string) backend.DataResponse {
	r.Frames = data.Frames{data.NewFrame("").SetMeta(&data.FrameMeta{ExecutedQueryString: sql})}
	return r
}

// readError answers a failure while reading a result: a column type
// kpiflow cannot carry is the query's to change (400), anything else is
// ClickHouse's (clickhouseError).
func (inst *Instance) readError(ctx context.Context, err error) backend.DataResponse {
	var unsupported *frames.UnsupportedColumnTypeError
	if errors.As(err, &unsupported) {
		return badRequest(err)
	}
	return inst.clickhouseError(ctx, err)
}

// clickhouseError turns a failed query into a downstream answer carrying
// ClickHouse's message, with advice where kpiflow has some.
func (inst *Instance) clickhouseError(ctx context.Context, err error) backend.DataResponse {
	if ctx.Err() != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
			"the query was cancelled: "+ctx.Err().Error())
	}
	if store.IsReadonly(err) {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
			"raw SQL is read-only: ClickHouse refused the statement ("+err.Error()+"); write a SELECT, or use the ingest API to write")
	}
	var state *store.StateColumnError
	if errors.As(err, &state) {
		return badRequest(state)
	}
	err = store.Classify(inst.settings, err)
	status := backend.StatusBadRequest
	var ce *store.ConnError
	if errors.As(err, &ce) {
		switch ce.Category {
		case store.CategoryTimeout:
			status = backend.StatusTimeout
		case store.CategoryBusy:
			status = backend.StatusTooManyRequests
		default:
			status = backend.StatusBadGateway
		}
	}
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) && ce == nil {
		status = backend.StatusBadGateway
	}
	return backend.ErrDataResponseWithSource(status, backend.ErrorSourceDownstream, "ClickHouse: "+err.Error())
}

// prepareSQL parses a raw SQL query and expands its macros (alert rules
// send them unexpanded), or answers why it cannot.
func (inst *Instance) prepareSQL(ctx context.Context, q backend.DataQuery) (*store.Store, *query.SQLQuery, query.Expansion, *backend.DataResponse) {
	fail := func(r backend.DataResponse) (*store.Store, *query.SQLQuery, query.Expansion, *backend.DataResponse) {
		return nil, nil, query.Expansion{}, &r
	}
	st, err := inst.ready()
	if err != nil {
		return fail(backend.ErrorResponseWithErrorSource(err))
	}
	sq, err := query.ParseSQLQuery(q.JSON)
	if err != nil {
		return fail(badRequest(err))
	}
	if sq.Hide {
		return st, &sq, query.Expansion{}, nil
	}
	d, err := st.Dialect(ctx)
	if err != nil {
		return fail(inst.clickhouseError(ctx, err))
	}
	x, err := query.ExpandMacros(sq.RawSQL, query.MacroEnv{
		From: q.TimeRange.From, To: q.TimeRange.To, Interval: q.Interval,
		AdHocFilters: sq.AdHocFilters, Table: sq.Table, Column: sq.Column, Dialect: d,
	})
	if err != nil {
		return fail(badRequest(err))
	}
	sql := x.SQL
	dbs, err := st.Databases(ctx, store.CatalogMaxAge)
	if err != nil {
		return fail(withExecuted(inst.clickhouseError(ctx, fmt.Errorf("check the raw SQL: %w", err)), sql))
	}
	if err := query.CheckRawSQL(sql, inst.rawSQLPolicy(dbs)); err != nil {
		return fail(withExecuted(badRequest(err), sql))
	}
	return st, &sq, x, nil
}

// answerOrEmpty is the error answer, or no frames (a hidden query).
func answerOrEmpty(r *backend.DataResponse) backend.DataResponse {
	if r == nil {
		return backend.DataResponse{}
	}
	return *r
}

// querySQL runs raw SQL read-only: macros are expanded here (alert rules send
// them unexpanded), the result is built block-wise by pkg/frames and capped
// at the Max rows setting, and format timeseries turns a long result into a
// wide frame with labels.
func (inst *Instance) querySQL(ctx context.Context, pc backend.PluginContext, q backend.DataQuery) backend.DataResponse {
	st, sq, x, errResp := inst.prepareSQL(ctx, q)
	if errResp != nil || sq.Hide {
		return answerOrEmpty(errResp)
	}
	return inst.answerSQL(ctx, pc, q, st, sq, x)
}

// answerSQL runs expanded raw SQL and answers its whole result.
func (inst *Instance) answerSQL(ctx context.Context, pc backend.PluginContext, q backend.DataQuery, st *store.Store, sq *query.SQLQuery, x query.Expansion) backend.DataResponse {
	sql := x.SQL
	rows, err := st.Query(ctx, attributionFor(ctx, pc), sql)
	if err != nil {
		return withExecuted(inst.clickhouseError(ctx, err), sql)
	}
	if c, ok := arrowWireFrom(ctx); ok && sq.Format != query.FormatTimeSeries {
		return inst.answerSQLArrow(ctx, c, q, rows, sq, x)
	}
	// Rows left unread (the cap cut the result, or reading failed) are
	// killed on the server by Close instead of being read to the end.
	frame, notices, err := frames.ReadAll(ctx, rows, inst.settings.MaxRows)
	_ = rows.Close()
	if err != nil {
		return withExecuted(inst.readError(ctx, err), rows.SQL)
	}
	frame.RefID = q.RefID
	frame.Meta = sqlTableMeta(rows, sq, x, notices, frame.Rows())
	if sq.Format == query.FormatTimeSeries {
		frame.Meta.PreferredVisualization = ""
		if frame, err = frames.TimeSeriesWide(frame, inst.settings.MaxRows); err != nil {
			return badRequest(err)
		}
	}
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// sqlTableMeta is the meta of a raw SQL result of n rows read from rows:
// the executed SQL, the reader's notices, the byte cap's, then the
// query's own (ignored fields, macros).
func sqlTableMeta(rows *store.Rows, sq *query.SQLQuery, x query.Expansion, notices frames.Notices, n int) *data.FrameMeta {
	if rows.Cut() {
		notices = append(notices, cutNotice(rows, n))
	}
	for _, t := range append(sq.IgnoredNotices(), x.Notices...) {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: t})
	}
	return &data.FrameMeta{ExecutedQueryString: rows.SQL, Notices: notices, PreferredVisualization: data.VisTypeTable}
}

// rawSQLPolicy is what raw SQL may reach (query.CheckRawSQL): the data
// source's database and the settings' additions; serverDatabases are the
// server's databases (store.Databases).
func (inst *Instance) rawSQLPolicy(serverDatabases []string) query.RawSQLPolicy {
	return query.RawSQLPolicy{
		Database:        inst.settings.Database,
		Databases:       inst.settings.RawSQLDatabases,
		Functions:       inst.settings.RawSQLFunctions,
		ServerDatabases: serverDatabases,
		ManagedSettings: store.ManagedSettings(inst.settings),
	}
}

// cutNotice says that a result stopped at the byte cap after n rows.
func cutNotice(rows *store.Rows, n int) data.Notice {
	return data.Notice{
		Severity: data.NoticeSeverityWarning,
		Text: fmt.Sprintf("The result was cut after %d rows at the data source's Max result bytes (maxResultBytes, %s); "+
			"aggregate or filter in SQL, or add a LIMIT, to see all of it", n, sizeText(rows.MaxBytes())),
	}
}

// sizeText writes a byte count in MiB or GiB, as the settings show it.
func sizeText(b int64) string {
	if b >= 1<<30 && b%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", b>>30)
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', -1, 64) + " MiB"
}
