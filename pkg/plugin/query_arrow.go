package plugin

import (
	"context"
	"encoding/json"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// answerSQLArrow answers a raw SQL table result as Arrow written straight
// from the blocks (ArrowWire): the same frame, meta and errors as
// answerSQL's data.Frame path, without the frame.
func (inst *Instance) answerSQLArrow(ctx context.Context, c arrowWireCall, q backend.DataQuery, rows *store.Rows, sq *query.SQLQuery, x query.Expansion) backend.DataResponse {
	// Room in the schema for the meta: what is known now, and the notices
	// known only at the end.
	known, err := json.Marshal(sqlTableMeta(rows, sq, x, nil, 0))
	if err != nil {
		_ = rows.Close()
		return backend.ErrorResponseWithErrorSource(err)
	}
	out := c.w.segments()
	af, notices, err := frames.ReadArrow(ctx, rows, inst.settings.MaxRows, "", q.RefID, out, len(known)+arrowWireMetaReserve)
	_ = rows.Close()
	if err != nil {
		out.Release()
		return withExecuted(inst.readError(ctx, err), rows.SQL)
	}
	meta := sqlTableMeta(rows, sq, x, notices, af.Rows())
	return backend.DataResponse{Frames: data.Frames{c.placeholder(af, out, q.RefID, meta)}}
}
