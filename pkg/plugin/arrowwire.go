package plugin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/kpiflow/kpiflow/pkg/frames"
)

// ArrowWire sends large QueryData frames as Arrow IPC bytes written
// straight from ClickHouse's blocks (frames.ReadArrow), instead of building
// a data.Frame that the SDK then converts to Arrow (data.Frame.MarshalArrow:
// builders grown value by value, the whole result held four times).
//
// The SDK's QueryData path offers no way to hand it encoded frames: its
// data adapter calls MarshalArrow on every frame, and the adapter, the
// handler middlewares (tracing, logging, contextual logger, tenant, error
// source) and the standalone/debug modes are internal to backend.Manage. So
// the handler answers as usual but with a small placeholder frame (its name
// a token, its meta the real frame's), and kpiflow's gRPC codec (installed
// by InstallArrowWire in main, wrapping gRPC's own proto codec for every
// message) puts the real bytes in its place while encoding the response:
// the frame's meta comes from the placeholder as the handler and everything
// after it left it (perQuery's notices), and the bytes go to the transport
// as they are, piece by piece (frames.Segments), without a protobuf copy.
// Everything else about the response (status, error, error source, other
// frames) is what the SDK made. Requests for JSON frames, and the chunked,
// resource and in-process callers, never get a placeholder: the handler
// takes this path only when QueryData came over gRPC (Instance.QueryData)
// with an ArrowWire and asked for Arrow.
//
// Memory: the pieces go back to a frames.SegmentPool when gRPC has written
// them; the pool keeps up to keepBytes for the next large answer, so it
// writes into pages the process already has instead of faulting them in
// again after idle, and after an answer of at least releaseAfter bytes the
// rest (the driver's blocks, the chunks) is returned to the system at once
// (debug.FreeOSMemory) instead of by the runtime's scavenger minutes later.
type ArrowWire struct {
	prefix  string // token prefix: "kpiflow-arrow-wire-<random>-"
	seq     atomic.Uint64
	pending atomic.Int64 // entries in the map, so responses without any skip the scan
	mu      sync.Mutex
	frames  map[string]*frames.ArrowFile
	outs    map[string]*frames.Segments
	pool    *frames.SegmentPool
	// releaseAfter is the answer size after which memory is handed back
	// once the process has been idle for releaseIdle.
	releaseAfter int
	idleMu       sync.Mutex
	idle         *time.Timer
	// gcPercent is GOGC as the process runs it (-1: the wire leaves GOGC
	// alone, the operator set it); lowered to arrowWireGCPercent while
	// large answers are being written.
	gcPercent int
}

// Bounds of ArrowWire's memory policy (docs/benchmarks.md, "After: Arrow
// from blocks").
const (
	arrowWireKeepBytes    = 64 << 20
	arrowWireReleaseAfter = 16 << 20
	arrowWireReleaseIdle  = 30 * time.Second
	// While answers hold arrowWireLargeBytes or more, the collector runs
	// at arrowWireGCPercent: the answers' bytes are outside the heap, and
	// what the heap then allocates (blocks, chunks) is garbage within a
	// block, so a smaller headroom costs little and bounds the peak.
	arrowWireLargeBytes = 16 << 20
	arrowWireGCPercent  = 25
	// arrowWireMetaReserve is the room left in a frame's schema for the
	// meta notices that are known only at the end (the cut notices,
	// perQuery's time range notices), beside what is known before.
	arrowWireMetaReserve = 1024
	// maxPlaceholderBytes bounds the frames searched for a token: a
	// placeholder is a frame without fields, its meta the executed SQL.
	maxPlaceholderBytes = 1 << 20
)

// InstallArrowWire makes the process's gRPC server encode QueryData
// responses through an ArrowWire, which it returns for the data source's
// instances (Factory.UseArrowWire). Call it once, in main, before serving:
// gRPC keeps codecs in a process-wide registry that is not safe to change
// while serving.
//
// GOGC is lowered while large answers are written unless the operator set
// GOGC (gogcSet).
func InstallArrowWire(gogcSet bool) *ArrowWire {
	w := NewArrowWire(gogcSet)
	encoding.RegisterCodecV2(&wireCodec{base: encoding.GetCodecV2(grpcproto.Name), wire: w})
	return w
}

// NewArrowWire returns an ArrowWire that no codec uses yet.
func NewArrowWire(gogcSet bool) *ArrowWire {
	var n [8]byte
	_, _ = rand.Read(n[:])
	w := &ArrowWire{prefix: "kpiflow-arrow-wire-" + hex.EncodeToString(n[:]) + "-",
		frames: map[string]*frames.ArrowFile{}, outs: map[string]*frames.Segments{},
		releaseAfter: arrowWireReleaseAfter, gcPercent: -1}
	var onUse func(int)
	if !gogcSet {
		large := false
		onUse = func(inUse int) {
			switch {
			case !large && inUse >= arrowWireLargeBytes:
				large, w.gcPercent = true, debug.SetGCPercent(arrowWireGCPercent)
			case large && inUse == 0:
				large = false
				debug.SetGCPercent(w.gcPercent)
			}
		}
	}
	w.pool = frames.NewSegmentPool(arrowWireKeepBytes, onUse)
	return w
}

// arrowWireKey carries the ArrowWire of a QueryData call that came over gRPC
// asking for Arrow frames.
type arrowWireKey struct{}

// withArrowWire marks ctx as a gRPC QueryData call whose frames w may send.
func withArrowWire(ctx context.Context, w *ArrowWire, format backend.DataFrameFormat) context.Context {
	if w == nil || format != backend.DataFrameFormat_ARROW {
		return ctx
	}
	return context.WithValue(ctx, arrowWireKey{}, arrowWireCall{w: w, rpc: ctx})
}

type arrowWireCall struct {
	w   *ArrowWire
	rpc context.Context // the call's own context: done once the answer is sent
}

func arrowWireFrom(ctx context.Context) (arrowWireCall, bool) {
	c, ok := ctx.Value(arrowWireKey{}).(arrowWireCall)
	return c, ok
}

// segments returns empty Segments for an answer, from the wire's pool.
func (w *ArrowWire) segments() *frames.Segments { return frames.NewSegments(w.pool) }

// placeholder registers a finished-but-for-its-meta Arrow file and returns
// the frame the handler answers with in its place: named with a token,
// refId and meta set. An answer never sent (the call failed) is dropped
// when the call ends.
func (c arrowWireCall) placeholder(af *frames.ArrowFile, out *frames.Segments, refID string, meta *data.FrameMeta) *data.Frame {
	w := c.w
	token := w.prefix + strconv.FormatUint(w.seq.Add(1), 10)
	w.mu.Lock()
	w.frames[token], w.outs[token] = af, out
	w.mu.Unlock()
	w.pending.Add(1)
	context.AfterFunc(c.rpc, func() {
		if _, out, ok := w.take(token); ok {
			out.Release()
		}
	})
	f := data.NewFrame(token).SetMeta(meta)
	f.RefID = refID
	return f
}

// take removes a token's entry.
func (w *ArrowWire) take(token string) (*frames.ArrowFile, *frames.Segments, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	af, ok := w.frames[token]
	if !ok {
		return nil, nil, false
	}
	out := w.outs[token]
	delete(w.frames, token)
	delete(w.outs, token)
	w.pending.Add(-1)
	return af, out, true
}

// resolve returns the finished Arrow file a placeholder frame's bytes stand
// for, or nil when b is not a placeholder.
func (w *ArrowWire) resolve(b []byte) (*frames.Segments, error) {
	if len(b) > maxPlaceholderBytes {
		return nil, nil
	}
	i := bytes.Index(b, []byte(w.prefix))
	if i < 0 {
		return nil, nil
	}
	p, err := data.UnmarshalArrowFrame(b)
	if err != nil {
		return nil, fmt.Errorf("decode a kpiflow placeholder frame: %w", err)
	}
	af, out, ok := w.take(p.Name)
	if !ok {
		return nil, fmt.Errorf("kpiflow placeholder frame %q has no answer (sent twice, or its call ended)", p.Name)
	}
	if err := af.Finish(p.Meta); err != nil {
		out.Release()
		return nil, err
	}
	return out, nil
}

// wireCodec is gRPC's proto codec, except that it puts an ArrowWire's
// answers in the place of their placeholders in QueryData responses.
type wireCodec struct {
	base encoding.CodecV2
	wire *ArrowWire
}

func (c *wireCodec) Name() string { return c.base.Name() }

func (c *wireCodec) Unmarshal(b mem.BufferSlice, v any) error { return c.base.Unmarshal(b, v) }

func (c *wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	resp, ok := v.(*pluginv2.QueryDataResponse)
	if !ok || c.wire.pending.Load() == 0 {
		return c.base.Marshal(v)
	}
	// Responses holding a placeholder are written by hand below; the
	// others by the proto codec. A map's entries may come in any order.
	direct := map[string][][]byte{}
	answers := map[string]map[int]*frames.Segments{}
	var failed error
	for refID, dr := range resp.GetResponses() {
		for i, f := range dr.GetFrames() {
			out, err := c.wire.resolve(f)
			if err != nil && failed == nil {
				failed = err
			}
			if out == nil {
				continue
			}
			if answers[refID] == nil {
				answers[refID] = map[int]*frames.Segments{}
			}
			answers[refID][i] = out
		}
		if answers[refID] != nil {
			direct[refID] = dr.GetFrames()
		}
	}
	if failed != nil {
		for _, a := range answers {
			for _, out := range a {
				out.Release()
			}
		}
		return nil, failed
	}
	if len(direct) == 0 {
		return c.base.Marshal(v)
	}
	rest := &pluginv2.QueryDataResponse{Responses: make(map[string]*pluginv2.DataResponse, len(resp.GetResponses()))}
	for refID, dr := range resp.GetResponses() {
		if _, ok := direct[refID]; !ok {
			rest.Responses[refID] = dr
		}
	}
	out, err := c.base.Marshal(rest)
	if err != nil {
		return nil, err
	}
	for refID := range direct {
		entry, err := c.entry(refID, resp.Responses[refID], answers[refID])
		if err != nil {
			out.Free()
			return nil, err
		}
		out = append(out, entry...)
	}
	return out, nil
}

// entry is one "responses" map entry of QueryDataResponse, written as
// protobuf: key refID, value the DataResponse with its frames, the
// answered ones as their pieces.
func (c *wireCodec) entry(refID string, dr *pluginv2.DataResponse, answers map[int]*frames.Segments) (mem.BufferSlice, error) {
	rest := proto.Clone(dr).(*pluginv2.DataResponse)
	rest.Frames = nil
	tail, err := proto.Marshal(rest)
	if err != nil {
		return nil, fmt.Errorf("encode the response of %s: %w", refID, err)
	}
	var value mem.BufferSlice
	valueLen := len(tail)
	for i, f := range dr.Frames {
		out, ok := answers[i]
		if !ok {
			head := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), f)
			value = append(value, mem.SliceBuffer(head))
			valueLen += len(head)
			continue
		}
		head := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.BytesType), uint64(out.Len()))
		value = append(value, mem.SliceBuffer(head))
		valueLen += len(head) + out.Len()
		value = append(value, c.wire.pieces(out)...)
	}
	value = append(value, mem.SliceBuffer(tail))
	// Map entry: key (field 1), value (field 2); inside responses (field 1).
	entry := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), refID)
	entry = protowire.AppendVarint(protowire.AppendTag(entry, 2, protowire.BytesType), uint64(valueLen))
	head := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.BytesType), uint64(len(entry)+valueLen))
	return append(mem.BufferSlice{mem.SliceBuffer(append(head, entry...))}, value...), nil
}

// pieces hands an answer's pieces to gRPC; when gRPC has freed the last
// one they go back to the pool, and a large answer hands the process's
// other free memory back to the system.
func (w *ArrowWire) pieces(out *frames.Segments) mem.BufferSlice {
	ps := out.Pieces()
	r := &piecesReturn{w: w, out: out, size: out.Len()}
	r.left.Store(int32(len(ps)))
	bs := make(mem.BufferSlice, 0, len(ps))
	for i := range ps {
		if mem.IsBelowBufferPoolingThreshold(cap(ps[i])) {
			// gRPC would not return it; it is not pooled either.
			bs = append(bs, mem.SliceBuffer(ps[i]))
			r.done()
			continue
		}
		bs = append(bs, mem.NewBuffer(&ps[i], r))
	}
	return bs
}

// piecesReturn is the mem.BufferPool of one answer's pieces: gRPC puts
// each back when it has written it.
type piecesReturn struct {
	w    *ArrowWire
	out  *frames.Segments
	size int
	left atomic.Int32
}

func (r *piecesReturn) Get(length int) *[]byte {
	b := make([]byte, length)
	return &b
}

func (r *piecesReturn) Put(*[]byte) { r.done() }

func (r *piecesReturn) done() {
	if r.left.Add(-1) != 0 {
		return
	}
	r.out.Release()
	if r.size >= r.w.releaseAfter {
		r.w.releaseWhenIdle()
	}
}

// releaseWhenIdle returns the heap's free memory to the system once no
// large answer has been sent for arrowWireReleaseIdle: queries in a row
// reuse it, and an idle process holds only what it uses and the pool.
func (w *ArrowWire) releaseWhenIdle() {
	w.idleMu.Lock()
	defer w.idleMu.Unlock()
	if w.idle == nil {
		w.idle = time.AfterFunc(arrowWireReleaseIdle, debug.FreeOSMemory)
		return
	}
	w.idle.Reset(arrowWireReleaseIdle)
}
