package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/frames"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/store"
)

var _ backend.QueryChunkedDataHandler = (*Instance)(nil)

// Frame ids of a chunked answer: the rows go out as chunks of frame
// blockFrameID; a result cut at Max rows ends with an empty frame
// cutFrameID carrying the notice (a frame's metadata goes with its first
// chunk, before the cut is known).
const (
	blockFrameID = "rows"
	cutFrameID   = "cut"
)

// firstChunkRows bounds the first chunk: the panel shows rows once it is
// decoded, and a whole first block (up to max_block_size rows, 65,536)
// would have to be converted, Arrow-encoded, sent and decoded first. The
// rest of that block follows at once as the next chunk.
const firstChunkRows = 1000

// blockPlan is a query that goes out block by block: its SQL, how each
// block is shaped, and the metadata of its first chunk.
type blockPlan struct {
	st   *store.Store
	what string // "taskflow query", for errors
	sql  string
	args []any
	// shape turns one block, read as a long frame, into the block's frame
	// (nil: as read).
	shape   func(block *data.Frame) (*data.Frame, error)
	notices []data.Notice
	vis     data.VisType
}

// blockSink receives a query's answer: frames by frame id (a frame id's
// later frames append rows), or a whole answer.
type blockSink interface {
	frame(ctx context.Context, frameID string, f *data.Frame) error
	answer(ctx context.Context, r backend.DataResponse) error
}

// QueryChunkedData answers like QueryData, as a stream of Arrow chunks:
// kpi tables, the taskflow row views and raw SQL in table format send each
// block ClickHouse delivers as one chunk of frame "rows" as soon as it
// arrives, so time to the first rows and memory follow the block size; the
// rest answer whole, each frame one chunk, with a notice saying why when
// the query type could stream. Queries run concurrently, at most
// maxConcurrentQueries at once.
func (inst *Instance) QueryChunkedData(ctx context.Context, req *backend.QueryChunkedDataRequest, w backend.ChunkedDataWriter) error {
	ctx = withRequestHeaders(ctx, req.Headers)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	slots := make(chan struct{}, maxConcurrentQueries)
	for _, q := range req.Queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			if err := inst.streamQuery(ctx, req.PluginContext, q, chunkSink{w: w, refID: q.RefID}); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("send chunks: %w", firstErr)
	}
	return nil
}

// chunkSink writes to the SDK's chunked writer.
type chunkSink struct {
	w     backend.ChunkedDataWriter
	refID string
}

func (s chunkSink) frame(ctx context.Context, frameID string, f *data.Frame) error {
	return s.w.WriteFrame(ctx, s.refID, frameID, f)
}

func (s chunkSink) answer(ctx context.Context, r backend.DataResponse) error {
	for i, f := range r.Frames {
		if err := s.w.WriteFrame(ctx, s.refID, fmt.Sprintf("f%d", i), f); err != nil {
			return err
		}
	}
	if r.Error != nil {
		status := r.Status
		if !status.IsValid() {
			status = backend.StatusInternal
		}
		return s.w.WriteError(ctx, s.refID, status, r.Error)
	}
	return nil
}

// streamQuery answers one query into sink, block by block where its type
// and shape allow.
func (inst *Instance) streamQuery(ctx context.Context, pc backend.PluginContext, q backend.DataQuery, sink blockSink) error {
	plan, whole := inst.planBlocks(ctx, pc, q)
	if plan == nil {
		return sink.answer(ctx, whole)
	}
	return inst.sendBlocks(ctx, pc, q.RefID, *plan, sink)
}

// planBlocks prepares a query to go out block by block, or answers it whole
// (an error, a hidden query, a query type or shape that needs the whole
// result: with a notice saying why).
func (inst *Instance) planBlocks(ctx context.Context, pc backend.PluginContext, q backend.DataQuery) (*blockPlan, backend.DataResponse) {
	var (
		plan   *blockPlan
		reason string
		whole  func() backend.DataResponse
	)
	switch q.QueryType {
	case QueryTypeSQL:
		st, sq, x, errResp := inst.prepareSQL(ctx, q)
		if errResp != nil || sq.Hide {
			return nil, answerOrEmpty(errResp)
		}
		if sq.Format == query.FormatTimeSeries {
			reason = "Format time series turns the long result into one wide frame, which needs the whole result, so it answers in one chunk."
			whole = func() backend.DataResponse { return inst.answerSQL(ctx, pc, q, st, sq, x) }
			break
		}
		plan = &blockPlan{st: st, what: "sql query", sql: x.SQL, vis: data.VisTypeTable,
			notices: infoNotices(append(sq.IgnoredNotices(), x.Notices...))}
	case QueryTypeKPI, QueryTypeTaskflow, QueryTypeDORA:
		st, parsed, prepared, errResp := inst.prepareBuilder(ctx, pc, q.QueryType, q)
		if errResp != nil || prepared == nil {
			return nil, answerOrEmpty(errResp)
		}
		whole = func() backend.DataResponse { return inst.answerBuilder(ctx, pc, q.QueryType, q, st, parsed, prepared) }
		shape, why := prepared.Chunks()
		switch {
		case parsed.Base().Live:
			reason = "A live query registers its channel and answers its snapshot in one chunk; what changes comes on the channel."
		case shape == nil:
			reason = why
		default:
			plan = &blockPlan{st: st, what: q.QueryType + " query", sql: prepared.SQL, args: prepared.Args, shape: shape,
				notices: infoNotices(prepared.Notices)}
		}
	default:
		resp, err := inst.queries.QueryData(ctx, &backend.QueryDataRequest{PluginContext: pc, Queries: []backend.DataQuery{q}})
		if err != nil {
			return nil, backend.ErrorResponseWithErrorSource(err)
		}
		return nil, resp.Responses[q.RefID]
	}
	if plan != nil {
		return plan, backend.DataResponse{}
	}
	r := whole()
	if r.Error == nil && len(r.Frames) > 0 {
		f := r.Frames[0]
		if f.Meta == nil {
			f.Meta = &data.FrameMeta{}
		}
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: reason})
	}
	return nil, r
}

// infoNotices are a query's notices as Grafana notices.
func infoNotices(texts []string) []data.Notice {
	out := make([]data.Notice, len(texts))
	for i, t := range texts {
		out[i] = data.Notice{Severity: data.NoticeSeverityInfo, Text: t}
	}
	return out
}

// sendBlocks runs p and sends each block ClickHouse delivers as one frame
// of blockFrameID (the first block in two: its first firstChunkRows rows,
// then the rest), the first with the executed SQL and the notices, at
// most Max rows in all; a result cut at Max rows or at Max result bytes
// ends with the cut frame. An error before the first
// block is the whole answer; after it, an error for the query.
func (inst *Instance) sendBlocks(ctx context.Context, pc backend.PluginContext, refID string, p blockPlan, sink blockSink) error {
	rows, err := p.st.Query(ctx, attributionFor(ctx, pc), p.sql, p.args...)
	if err != nil {
		return sink.answer(ctx, withExecuted(inst.clickhouseError(ctx, fmt.Errorf("run the %s: %w", p.what, err)), executedQuery(p.sql, p.args)))
	}
	// Rows left unread (the cap, an error, a client gone) are killed on
	// the server by Close instead of being read to the end.
	defer func() { _ = rows.Close() }()
	executed := executedQuery(rows.SQL, p.args)
	fail := func(err error) error {
		return sink.answer(ctx, withExecuted(inst.readError(ctx, fmt.Errorf("read the %s result: %w", p.what, err)), executed))
	}
	r, err := frames.NewReader(rows, 0)
	if err != nil {
		return fail(err)
	}
	maxRows := inst.settings.MaxRows
	for first := true; ; first = false {
		limit := 0 // the whole block
		if maxRows > 0 {
			if limit = maxRows - r.RowsRead(); limit <= 0 {
				break
			}
		}
		if first && (limit == 0 || limit > firstChunkRows) {
			limit = firstChunkRows
		}
		block, err := r.NextBlock(ctx, limit)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		if p.shape != nil {
			if block, err = p.shape(block); err != nil {
				return sink.answer(ctx, backend.ErrorResponseWithErrorSource(backend.PluginError(fmt.Errorf("shape the %s result: %w", p.what, err))))
			}
		}
		block.RefID = refID
		if first {
			block.Meta = &data.FrameMeta{ExecutedQueryString: executed, Notices: p.notices, PreferredVisualization: p.vis}
		}
		if err := sink.frame(ctx, blockFrameID, block); err != nil {
			return err
		}
	}
	var cuts []data.Notice
	if maxRows > 0 && r.RowsRead() >= maxRows {
		more, err := r.MoreRows()
		if err != nil {
			return fail(err)
		}
		if more {
			cuts = append(cuts, frames.CutNotice(maxRows))
		}
	}
	if rows.Cut() {
		cuts = append(cuts, cutNotice(rows, r.RowsRead()))
	}
	if len(cuts) == 0 {
		return nil
	}
	cut := data.NewFrame("")
	cut.RefID = refID
	cut.Meta = &data.FrameMeta{Notices: cuts}
	return sink.frame(ctx, cutFrameID, cut)
}
