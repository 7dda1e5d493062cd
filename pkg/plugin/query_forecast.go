package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/query"
)

// QueryTypeForecast is the forecast query type.
const QueryTypeForecast = query.TypeForecast

// queryForecast answers a forecast query: parse, plan the reads (task
// summaries, or the kpi series), run each read-only and attributed like
// every builder query, then compute the forecast in Go (pkg/forecast via
// pkg/query). The forecast is as of the range's end, or now when the range
// ends in the future, so a dashboard and an alert rule get the same numbers.
func (inst *Instance) queryForecast(ctx context.Context, pc backend.PluginContext, q backend.DataQuery) backend.DataResponse {
	st, err := inst.ready()
	if err != nil {
		return backend.ErrorResponseWithErrorSource(err)
	}
	fq, err := query.ParseForecast(q.JSON)
	if err != nil {
		return badRequest(err)
	}
	if fq.Hide {
		return backend.DataResponse{}
	}
	to := q.TimeRange.To
	if now := time.Now(); to.After(now) || to.IsZero() {
		to = now
	}
	env := query.Env{From: q.TimeRange.From, To: to, Interval: q.Interval,
		MaxDataPoints: q.MaxDataPoints, MaxRows: inst.settings.MaxRows}
	if fq.NeedsTeamTree() {
		if env.TeamParents, err = st.TeamTree(ctx, attributionFor(ctx, pc)); err != nil {
			return inst.clickhouseError(ctx, err)
		}
	}
	var prepared *query.PreparedForecast
	if r := inst.withServerCatalog(ctx, st, &env, "forecast query", func() (err error) {
		prepared, err = inst.pipeline.PrepareForecast(ctx, fq, env)
		return err
	}); r != nil {
		return *r
	}
	results := make([]*data.Frame, len(prepared.Reads))
	var executed []string
	var readNotices []data.Notice
	for i, read := range prepared.Reads {
		res, text, notices, errResp := inst.readPlan(ctx, st, pc, "forecast's history query", read.SQL, read.Args)
		if errResp != nil {
			return *errResp
		}
		results[i] = res
		executed = append(executed, text)
		readNotices = append(readNotices, notices...)
	}
	if len(readNotices) > 0 {
		// A cut read would make a wrong forecast: refuse it.
		return badRequest(fmt.Errorf("the forecast's history exceeds the data source's Max rows (%d); narrow the scope (teams, projects, filters) or the range", inst.settings.MaxRows))
	}
	out, notices, err := prepared.Frames(results)
	if err != nil {
		var fe *query.FieldError
		if errors.As(err, &fe) {
			return badRequest(err)
		}
		return backend.ErrorResponseWithErrorSource(backend.PluginError(fmt.Errorf("compute the forecast: %w", err)))
	}
	if len(out) == 0 {
		out = data.Frames{data.NewFrame("forecast")}
	}
	stampFrames(out, q.RefID, strings.Join(executed, ";\n"), append(fq.IgnoredNotices(), notices...), nil)
	return backend.DataResponse{Frames: out}
}
