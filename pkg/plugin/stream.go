package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/live"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

var _ backend.StreamHandler = (*Instance)(nil)

// liveUser attributes the live polls in ClickHouse's query log
// (kpiflow:live:<data source uid>:...).
const liveUser = "live"

// liveSource is the hub's way to ClickHouse: plans become SQL through the
// query package (validated against the server's catalog) and run read-only
// and attributed, like every query.
type liveSource struct{ inst *Instance }

func (s liveSource) Read(ctx context.Context, p plan.Plan) (*data.Frame, error) {
	st, err := s.inst.ready()
	if err != nil {
		return nil, err
	}
	stats, err := st.TableStats(ctx, store.CatalogMaxAge)
	if err != nil {
		return nil, fmt.Errorf("read the tables of the database: %w", err)
	}
	sql, args, err := query.SQL(p, s.inst.catalogs.of(s.inst.catalog, stats))
	if err != nil {
		return nil, fmt.Errorf("write the live plan's SQL: %w", err)
	}
	rows, err := st.Query(ctx, store.Attribution{User: liveUser, Dashboard: s.inst.uid}, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	f, _, err := frames.ReadAll(ctx, rows, 0)
	return f, err
}

func (s liveSource) Now(ctx context.Context) (time.Time, error) {
	st, err := s.inst.ready()
	if err != nil {
		return time.Time{}, err
	}
	return st.Now(ctx)
}

// startLive registers the channel of a live query before its snapshot is
// read (so its stream misses nothing the snapshot lacks) and returns the
// channel id for the answer's first frame. Alert rules get no channel: they
// evaluate snapshots. When live is not possible the answer is a snapshot
// with a notice saying why.
func (inst *Instance) startLive(ctx context.Context, pc backend.PluginContext, queryType string, pq *query.Prepared) (ls *query.LiveStream, channel, notice string) {
	if attributionFor(ctx, pc).FromAlert {
		return nil, "", ""
	}
	if pq.Live == nil || inst.hub == nil {
		return nil, "", fmt.Sprintf("Live updates are available for kpi and taskflow queries; this %s query answers once.", queryType)
	}
	ls = pq.Live
	read := query.PlanReader(liveSource{inst}.Read)
	spec := live.Spec{Table: ls.Table, Scope: ls.Scope, Settle: ls.Settle,
		Push: func(ctx context.Context, rows *data.Frame) (data.Frames, error) { return ls.Push(ctx, rows, read) }}
	path, err := inst.hub.Register(ctx, live.Key(ls.Kind, ls.Plan), spec)
	if err != nil {
		return nil, "", "Live updates are off for this answer: " + err.Error()
	}
	return ls, "ds/" + pc.DataSourceInstanceSettings.UID + "/" + path, ""
}

// SubscribeStream lets a user who may query this data source subscribe to a
// channel a live query of it registered.
func (inst *Instance) SubscribeStream(_ context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if inst.hub == nil || !inst.hub.Known(req.Path) {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	if !mayQuery(req.PluginContext.User) {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusPermissionDenied}, nil
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
}

// PublishStream is refused: channels carry what ClickHouse holds, and data
// goes in through the ingest API.
func (inst *Instance) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream sends a channel's frames until Grafana ends the stream (no
// subscribers left) or the instance closes. The first frame of a stream,
// and any carrying notices, go with their schema; the rest as data only.
// Each push is encoded once for all of the channel's streams (live.Push).
func (inst *Instance) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	if inst.hub == nil {
		_, err := inst.ready()
		return err
	}
	sub, err := inst.hub.Subscribe(req.Path)
	if err != nil {
		return backend.DownstreamError(fmt.Errorf("run stream %s: %w", req.Path, err))
	}
	defer sub.Close()
	schemaSent := map[string]bool{}
	for {
		push, err := sub.NextPush(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, live.ErrClosed):
			return nil
		case err != nil:
			return fmt.Errorf("run stream %s: %w", req.Path, err)
		}
		for i, f := range push.Frames {
			include := data.IncludeDataOnly
			if !schemaSent[f.Name] || (f.Meta != nil && len(f.Meta.Notices) > 0) {
				include = data.IncludeAll
				schemaSent[f.Name] = true
			}
			b, err := push.JSON(i, include)
			if err != nil {
				return fmt.Errorf("run stream %s: %w", req.Path, err)
			}
			if err := sender.SendBytes(b); err != nil {
				return fmt.Errorf("send a frame on %s: %w", req.Path, err)
			}
		}
	}
}

// mayQuery reports whether a user may query the data source: any signed-in
// organisation role (Viewer and up). Grafana checks the data source
// permission itself before it asks the plugin.
func mayQuery(u *backend.User) bool {
	return u != nil && roleRank(u.Role) >= roleRank(settings.RoleViewer)
}
