package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/jsonstrict"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// ArrowContentType is the media type of the arrow resource's answer.
const ArrowContentType = "application/vnd.apache.arrow.stream"

// maxArrowRequestBytes bounds the arrow resource's request body (one query).
const maxArrowRequestBytes = 1 << 20

// arrowRequest is the body of POST arrow: one query as in a dashboard's
// panel, and the time range Grafana would send with it.
type arrowRequest struct {
	Query         json.RawMessage `json:"query"`
	From          string          `json:"from"`
	To            string          `json:"to"`
	IntervalMs    int64           `json:"intervalMs"`
	MaxDataPoints int64           `json:"maxDataPoints"`
}

// parseArrowRequest validates the body and makes the query Grafana would
// send for it; every error names the field.
func parseArrowRequest(body []byte) (backend.DataQuery, error) {
	var req arrowRequest
	if err := jsonstrict.Decode(body, &req, jsonstrict.Options{Root: "body", Unknown: "unknown field"}); err != nil {
		return backend.DataQuery{}, err
	}
	if len(req.Query) == 0 {
		return backend.DataQuery{}, jsonstrict.Errorf("query", "required: the query, as a panel sends it")
	}
	var head struct {
		RefID     string `json:"refId"`
		QueryType string `json:"queryType"`
	}
	if err := json.Unmarshal(req.Query, &head); err != nil {
		return backend.DataQuery{}, jsonstrict.Errorf("query", "expected a JSON object with queryType: %v", err)
	}
	if head.RefID == "" {
		head.RefID = "A"
	}
	var tr backend.TimeRange
	for _, t := range []struct {
		field string
		in    string
		out   *time.Time
	}{{"from", req.From, &tr.From}, {"to", req.To, &tr.To}} {
		v, err := time.Parse(time.RFC3339Nano, t.in)
		if err != nil {
			return backend.DataQuery{}, jsonstrict.Errorf(t.field, "expected an RFC 3339 time such as 2026-11-20T00:00:00Z, got %q", t.in)
		}
		*t.out = v
	}
	if !tr.From.Before(tr.To) {
		return backend.DataQuery{}, jsonstrict.Errorf("to", "must be after from (%s)", req.From)
	}
	if req.IntervalMs < 0 || req.MaxDataPoints < 0 {
		return backend.DataQuery{}, jsonstrict.Errorf("intervalMs", "intervalMs and maxDataPoints must not be negative")
	}
	interval := time.Duration(req.IntervalMs) * time.Millisecond
	if interval == 0 {
		interval = time.Minute
	}
	return backend.DataQuery{RefID: head.RefID, QueryType: head.QueryType, JSON: req.Query, TimeRange: tr,
		Interval: interval, MaxDataPoints: req.MaxDataPoints}, nil
}

// registerArrowRoutes adds POST arrow: a query answered as Arrow IPC,
// record batch by record batch (see serveArrow).
func registerArrowRoutes(mux *http.ServeMux, inst *Instance) {
	mux.HandleFunc("/arrow", inst.serveArrow)
}

// serveArrow answers one query as application/vnd.apache.arrow.stream,
// with the validation, role check, Max rows and notices of QueryData: the
// body is one Arrow IPC stream per frame, back to back (apache-arrow's
// RecordBatchReader.readAll reads them in turn); a frame's metadata (the
// SDK's "meta" schema metadata: executed SQL, notices) is in its schema.
// Block-wise queries (see QueryChunkedData) send each ClickHouse block as
// one record batch as it arrives; a cut result ends with a stream of no
// fields whose metadata holds the notice. An error before the first byte
// is a JSON error with its status; after it, the body ends without the
// stream's end marker, which readers report.
func (inst *Instance) serveArrow(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSONError(w, http.StatusMethodNotAllowed, "arrow: POST a query")
		return
	}
	if !requireRole(w, r, settings.RoleViewer, "") {
		return
	}
	body, err := readBody(w, r, maxArrowRequestBytes)
	if err != nil {
		return
	}
	q, err := parseArrowRequest(body)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	pc := backend.PluginConfigFromContext(r.Context())
	sink := &arrowSink{w: w}
	err = inst.streamQuery(r.Context(), pc, q, sink)
	if err == nil {
		err = sink.close()
	}
	if err != nil {
		inst.logger.Warn("arrow resource: answer cut short", "error", err)
	}
}

// readBody reads at most limit bytes of the request body, answering 413 or
// 400 itself when it cannot.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", limit))
	case err != nil:
		writeJSONError(w, http.StatusBadRequest, "body: "+err.Error())
	}
	return body, err
}

// arrowSink writes frames as Arrow IPC streams: a new stream whenever the
// frame id changes, the rows of one frame id as record batches of its
// first frame's schema, flushed one by one.
type arrowSink struct {
	w       http.ResponseWriter
	started bool
	frameID string
	schema  *arrow.Schema
	iw      *ipc.Writer
}

func (s *arrowSink) frame(_ context.Context, frameID string, f *data.Frame) error {
	tbl, err := data.FrameToArrowTable(f)
	if err != nil {
		return fmt.Errorf("encode frame %q as Arrow: %w", frameID, err)
	}
	defer tbl.Release()
	if !s.started {
		s.w.Header().Set("Content-Type", ArrowContentType)
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	if s.iw == nil || frameID != s.frameID {
		if err := s.endStream(); err != nil {
			return err
		}
		s.frameID, s.schema = frameID, tbl.Schema()
		s.iw = ipc.NewWriter(s.w, ipc.WithSchema(s.schema))
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		// The first frame's schema, metadata included, is the stream's.
		batch := array.NewRecordBatch(s.schema, rec.Columns(), rec.NumRows())
		err := s.iw.Write(batch)
		batch.Release()
		if err != nil {
			return fmt.Errorf("write Arrow record batch: %w", err)
		}
	}
	if fl, ok := s.w.(http.Flusher); ok {
		fl.Flush()
	}
	return nil
}

func (s *arrowSink) endStream() error {
	if s.iw == nil {
		return nil
	}
	err := s.iw.Close()
	s.iw = nil
	if err != nil {
		return fmt.Errorf("end Arrow stream: %w", err)
	}
	return nil
}

func (s *arrowSink) answer(ctx context.Context, r backend.DataResponse) error {
	if r.Error != nil && !s.started {
		status := int(r.Status)
		if !r.Status.IsValid() || status < 400 {
			status = http.StatusInternalServerError
		}
		writeJSONError(s.w, status, r.Error.Error())
		return nil
	}
	for i, f := range r.Frames {
		if err := s.frame(ctx, fmt.Sprintf("f%d", i), f); err != nil {
			return err
		}
	}
	if r.Error != nil {
		return fmt.Errorf("the query failed after its first rows: %w", r.Error)
	}
	return nil
}

// close ends the last stream; a query with no frames (hidden) answers 204.
func (s *arrowSink) close() error {
	if !s.started {
		s.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	err := s.endStream()
	if fl, ok := s.w.(http.Flusher); ok {
		fl.Flush()
	}
	return err
}
