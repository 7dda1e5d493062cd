package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/data"

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

// perQuery answers each query of a request on its own, so one bad query does
// not fail the panel's others. The request's headers travel in ctx for
// attribution (attribution.go).
func (inst *Instance) perQuery(fn queryFunc) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		ctx = withRequestHeaders(ctx, req.Headers)
		resp := backend.NewQueryDataResponse()
		for _, q := range req.Queries {
			resp.Responses[q.RefID] = fn(ctx, req.PluginContext, q)
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
	err = store.Classify(inst.settings, err)
	status := backend.StatusBadRequest
	var ce *store.ConnError
	if errors.As(err, &ce) {
		status = backend.StatusBadGateway
		if ce.Category == store.CategoryTimeout {
			status = backend.StatusTimeout
		}
	}
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) && ce == nil {
		status = backend.StatusBadGateway
	}
	return backend.ErrDataResponseWithSource(status, backend.ErrorSourceDownstream, "ClickHouse: "+err.Error())
}

// querySQL runs raw SQL read-only: macros are expanded here (alert rules send
// them unexpanded), the result is built block-wise by pkg/frames and capped
// at the Max rows setting, and format timeseries turns a long result into a
// wide frame with labels.
func (inst *Instance) querySQL(ctx context.Context, pc backend.PluginContext, q backend.DataQuery) backend.DataResponse {
	st, err := inst.ready()
	if err != nil {
		return backend.ErrorResponseWithErrorSource(err)
	}
	sq, err := query.ParseSQLQuery(q.JSON)
	if err != nil {
		return badRequest(err)
	}
	if sq.Hide {
		return backend.DataResponse{}
	}
	d, err := st.Dialect(ctx)
	if err != nil {
		return inst.clickhouseError(ctx, err)
	}
	sql, err := query.ExpandMacros(sq.RawSQL, query.MacroEnv{
		From: q.TimeRange.From, To: q.TimeRange.To, Interval: q.Interval,
		AdHocFilters: sq.AdHocFilters, Dialect: d,
	})
	if err != nil {
		return badRequest(err)
	}
	rq, err := inst.startQuery(ctx, st, pc, true, sql)
	if err != nil {
		return withExecuted(inst.clickhouseError(ctx, err), sql)
	}
	frame, notices, err := frames.ReadAll(ctx, rq.Rows, inst.settings.MaxRows)
	// Rows are left unread when the cap cut the result or reading failed;
	// Close kills the query then, instead of reading the rest.
	rq.Close(err == nil && len(notices) == 0)
	if err != nil {
		var ue *frames.UnsupportedColumnTypeError
		if errors.As(err, &ue) {
			return withExecuted(badRequest(err), rq.SQL)
		}
		return withExecuted(inst.clickhouseError(ctx, err), rq.SQL)
	}
	frame.RefID = q.RefID
	frame.Meta = &data.FrameMeta{ExecutedQueryString: rq.SQL, Notices: notices}
	if sq.Format == query.FormatTimeSeries {
		if frame, err = timeSeries(frame, inst.settings.MaxRows); err != nil {
			return badRequest(err)
		}
	} else {
		frame.Meta.PreferredVisualization = data.VisTypeTable
	}
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// timeSeries shapes a result for format timeseries. A long frame (a time
// column, number columns, and string columns naming the series) becomes a
// wide frame whose string columns are labels; a wide one is kept. The frame
// is sorted by time first, as the SDK's conversion requires.
func timeSeries(f *data.Frame, maxRows int) (*data.Frame, error) {
	schema := f.TimeSeriesSchema()
	switch schema.Type {
	case data.TimeSeriesTypeNot:
		return nil, fmt.Errorf("format: timeseries needs a DateTime column and at least one number column; "+
			"the result has %s (use format table, or select e.g. $__timeInterval(ts) AS time, count() ... GROUP BY time ORDER BY time)",
			describeFields(f))
	case data.TimeSeriesTypeWide:
		sortByTime(f, schema.TimeIndex)
		f.Meta.Type = data.FrameTypeTimeSeriesWide
		f.Meta.TypeVersion = data.FrameTypeVersion{0, 1}
		return f, nil
	}
	if f.Rows() == 0 {
		f.Meta.Type = data.FrameTypeTimeSeriesWide
		return f, nil
	}
	sortByTime(f, schema.TimeIndex)
	// A cap in cells keeps a result with very many series from taking all
	// memory: one wide cell per long value, twenty times over, is plenty.
	wide, err := data.LongToWideWithLimit(f, nil, int64(max(maxRows, 1))*20)
	if err != nil {
		return nil, fmt.Errorf("format: timeseries: %w; check that the time column has no NULLs, or use format table", err)
	}
	wide.RefID = f.RefID
	wide.Meta.Type = data.FrameTypeTimeSeriesWide
	wide.Meta.TypeVersion = data.FrameTypeVersion{0, 1}
	return wide, nil
}

func describeFields(f *data.Frame) string {
	if len(f.Fields) == 0 {
		return "no columns"
	}
	s := ""
	for i, fld := range f.Fields {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (%s)", fld.Name, fld.Type().ItemTypeString())
	}
	return s
}

// sortByTime sorts the frame's rows by its time field, stably, when they are
// not in order already (the usual ORDER BY time costs nothing here).
func sortByTime(f *data.Frame, ti int) {
	tf := f.Fields[ti]
	n := tf.Len()
	at := func(i int) time.Time {
		switch v := tf.At(i).(type) {
		case time.Time:
			return v
		case *time.Time:
			if v != nil {
				return *v
			}
		}
		return time.Time{}
	}
	sorted := true
	for i := 1; i < n && sorted; i++ {
		sorted = !at(i).Before(at(i - 1))
	}
	if sorted {
		return
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return at(idx[a]).Before(at(idx[b])) })
	for k, fld := range f.Fields {
		nf := data.NewFieldFromFieldType(fld.Type(), n)
		nf.Name, nf.Labels, nf.Config = fld.Name, fld.Labels, fld.Config
		for i, j := range idx {
			nf.Set(i, fld.CopyAt(j))
		}
		f.Fields[k] = nf
	}
}
