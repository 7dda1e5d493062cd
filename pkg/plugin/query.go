package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/store"
)

// Query types, as in the query model of DESIGN.md.
const (
	QueryTypeSQL = "sql"
)

// newQueryMux registers every queryType once; registering one twice panics in
// the SDK, so a wiring mistake fails when the plugin starts.
func newQueryMux(inst *Instance) *datasource.QueryTypeMux {
	mux := datasource.NewQueryTypeMux()
	mux.HandleFunc(QueryTypeSQL, inst.perQuery(inst.querySQL))
	registerBuilderQueries(mux, inst)
	mux.HandleFunc("", inst.perQuery(func(_ context.Context, _ backend.PluginContext, q backend.DataQuery) backend.DataResponse {
		if q.QueryType == "" {
			return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
				`queryType: required; expected one of "sql"`)
		}
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
			fmt.Sprintf("queryType: unknown query type %q; expected one of \"sql\"", q.QueryType))
	}))
	return mux
}

type queryFunc func(ctx context.Context, pc backend.PluginContext, q backend.DataQuery) backend.DataResponse

// perQuery answers each query of a request on its own, so one bad query does
// not fail the panel's others.
func (inst *Instance) perQuery(fn queryFunc) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		for _, q := range req.Queries {
			resp.Responses[q.RefID] = fn(ctx, req.PluginContext, q)
		}
		return resp, nil
	}
}

// sqlQuery is the JSON of a queryType "sql" query.
type sqlQuery struct {
	RawSQL string `json:"rawSql"`
	Format string `json:"format"`
}

// querySQL runs raw SQL read-only. The query engine issue replaces the
// row-by-row conversion below with block-wise frame building and macros.
func (inst *Instance) querySQL(ctx context.Context, _ backend.PluginContext, q backend.DataQuery) backend.DataResponse {
	st, err := inst.ready()
	if err != nil {
		return backend.ErrorResponseWithErrorSource(err)
	}
	var sq sqlQuery
	if err := json.Unmarshal(q.JSON, &sq); err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, "query JSON: "+err.Error())
	}
	if strings.TrimSpace(sq.RawSQL) == "" {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, "rawSql: required; write a SELECT query")
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		// readonly=2 forbids writes and DDL but still lets the query carry settings.
		"readonly":           2,
		"max_execution_time": int(inst.settings.QueryTimeout / time.Second),
	}))
	rows, err := st.Conn().Query(ctx, sq.RawSQL)
	if err != nil {
		return backend.ErrorResponseWithErrorSource(backend.DownstreamError(store.Classify(inst.settings, err)))
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	frame := data.NewFrame("")
	holders := make([]any, len(types))
	for i, ct := range types {
		st := ct.ScanType()
		frame.Fields = append(frame.Fields, data.NewFieldFromFieldType(fieldType(st), 0))
		frame.Fields[i].Name = ct.Name()
		holders[i] = reflect.New(st).Interface()
	}
	n := 0
	for rows.Next() {
		if n >= inst.settings.MaxRows {
			frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityWarning,
				Text: fmt.Sprintf("Result cut at %d rows (the data source's Max rows setting)", inst.settings.MaxRows)})
			break
		}
		if err := rows.Scan(holders...); err != nil {
			return backend.ErrorResponseWithErrorSource(backend.DownstreamError(fmt.Errorf("read row %d: %w", n, err)))
		}
		for i, h := range holders {
			frame.Fields[i].Append(fieldValue(reflect.ValueOf(h).Elem()))
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return backend.ErrorResponseWithErrorSource(backend.DownstreamError(store.Classify(inst.settings, err)))
	}
	frame.Meta = &data.FrameMeta{ExecutedQueryString: sq.RawSQL}
	return backend.DataResponse{Frames: data.Frames{frame}}
}

func fieldType(t reflect.Type) data.FieldType {
	ft := data.FieldTypeFor(reflect.Zero(t).Interface())
	if ft == data.FieldTypeUnknown {
		return data.FieldTypeNullableString
	}
	return ft
}

func fieldValue(v reflect.Value) any {
	x := v.Interface()
	if data.FieldTypeFor(x) == data.FieldTypeUnknown {
		s := fmt.Sprint(x)
		return &s
	}
	return x
}
