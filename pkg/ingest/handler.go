package ingest

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// BatchWriter stores a decoded batch; *Writer is the real one.
type BatchWriter interface {
	Write(ctx context.Context, b *Batch, idemKey, actor string) (Result, error)
}

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted, in characters.
const MaxIdempotencyKeyLen = 256

// Handler serves POST ingest/{stream}: it reads the body (gzip or not),
// decodes and validates it and hands the batch to Writer.
//
//	mux.Handle("POST /ingest/{stream}", ingest.Handler{Writer: w, Actor: actor})
//
// # Notes
//
// Role checks are the caller's: pkg/plugin wraps the handler with the
// Grafana role check before it runs.
type Handler struct {
	Writer BatchWriter
	// Limits are the request limits; zero fields take the defaults.
	Limits Limits
	// Actor names the caller for the ledger (nil: "").
	Actor func(*http.Request) string
}

func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	stream := r.PathValue("stream")
	if _, ok := schemaFor(stream); !ok {
		WriteError(w, &StreamError{Stream: stream})
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		if n, problem := checkText([]byte(key)); problem != "" || n > MaxIdempotencyKeyLen {
			if problem == "" {
				problem = fmt.Sprintf("%d characters, more than the limit of %d", n, MaxIdempotencyKeyLen)
			}
			WriteError(w, &RowErrors{Errors: []RowError{{Index: -1, Field: "Idempotency-Key", Message: problem}}})
			return
		}
	}
	lim := h.Limits.orDefault()
	body, err := RequestBody(w, r, lim.MaxBodyBytes)
	if err != nil {
		WriteError(w, err)
		return
	}
	b, err := Decode(body, stream, r.Header.Get("Content-Type"), lim)
	if err != nil {
		WriteError(w, bodyError(err, lim.MaxBodyBytes))
		return
	}
	actor := ""
	if h.Actor != nil {
		actor = h.Actor(r)
	}
	res, err := h.Writer.Write(r.Context(), b, key, actor)
	if err != nil {
		WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// RequestBody returns r's body, decompressed when Content-Encoding is gzip,
// limited to maxBytes both as sent and decompressed (a gzip bomb stops at
// maxBytes of output).
func RequestBody(w http.ResponseWriter, r *http.Request, maxBytes int64) (io.Reader, error) {
	if r.ContentLength > maxBytes {
		return nil, bodyLimit(maxBytes, false)
	}
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil, bodyError(fmt.Errorf("read the gzip body: %w", err), maxBytes)
		}
		return &limitedReader{r: gz, left: maxBytes, max: maxBytes}, nil
	default:
		return nil, &MediaTypeError{Message: fmt.Sprintf("Content-Encoding %q is not supported: send gzip or no encoding", enc)}
	}
}

// limitedReader fails with a LimitError once more than left bytes come out.
type limitedReader struct {
	r    io.Reader
	left int64
	max  int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, bodyLimit(l.max, true)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, bodyLimit(l.max, true)
	}
	return n, err
}

// bodyError maps body reading failures to the errors WriteError knows.
func bodyError(err error, maxBytes int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return bodyLimit(maxBytes, false)
	}
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return &RowErrors{Errors: []RowError{{Index: -1, Field: "", Message: "the gzip body is corrupt or truncated: " + err.Error()}}}
	}
	return err
}

// StatusOf is the HTTP status of an error from this package.
func StatusOf(err error) int {
	var (
		re  *RowErrors
		le  *LimitError
		me  *MediaTypeError
		se  *StreamError
		ue  *UnavailableError
		ke  *KeyReuseError
		ie  *InputError
		ce  *ConfigError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &re), errors.As(err, &ie):
		return http.StatusBadRequest
	case errors.As(err, &le), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &me):
		return http.StatusUnsupportedMediaType
	case errors.As(err, &se):
		return http.StatusNotFound
	case errors.As(err, &ue):
		return http.StatusServiceUnavailable
	case errors.As(err, &ke):
		return http.StatusConflict
	case errors.As(err, &ce):
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

// WriteError answers with err's status and a JSON body: {errors, truncated}
// for bad rows, {error, limit, max, ...} for limits, {error, field} for a bad
// parameter, {error} otherwise.
// A 503 carries Retry-After.
func WriteError(w http.ResponseWriter, err error) {
	status := StatusOf(err)
	var (
		re *RowErrors
		le *LimitError
		ie *InputError
		ue *UnavailableError
		ce *ConfigError
	)
	switch {
	case errors.As(err, &re):
		writeJSON(w, status, re)
	case errors.As(err, &ie):
		writeJSON(w, status, map[string]string{"error": ie.Error(), "field": ie.Field})
	case errors.As(err, &le):
		writeJSON(w, status, le)
	case errors.As(err, &ue):
		secs := int(ue.RetryAfter / time.Second)
		if secs < 1 {
			secs = int(DefaultRetryAfter / time.Second)
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, status, map[string]string{"error": err.Error()})
	case errors.As(err, &ce):
		writeJSON(w, status, map[string]string{"error": err.Error(), "setting": ce.Setting})
	default:
		writeJSON(w, status, map[string]string{"error": err.Error()})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// InputError is a bad parameter of a ledger or erase request: HTTP 400.
type InputError struct {
	Field   string `json:"field"`
	Message string `json:"error"`
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// Verifier verifies the ledger; *Writer is the real one.
type Verifier interface {
	Verify(ctx context.Context, req VerifyRequest) (VerifyReport, error)
}

// VerifyHandler serves GET ledger/verify?stream=&from=&to=. from and to
// (RFC 3339 or epoch milliseconds, both optional) restrict which batches'
// rows are recomputed by the links' received_at; the chain itself is always
// checked from the start. It answers 200 with the report, ok or not.
type VerifyHandler struct {
	Verifier Verifier
}

func (h VerifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := VerifyRequest{Stream: q.Get("stream")}
	if req.Stream != "" {
		if _, ok := schemaFor(req.Stream); !ok {
			WriteError(w, &InputError{Field: "stream", Message: (&StreamError{Stream: req.Stream}).Error()})
			return
		}
	}
	var err error
	if req.From, req.To, err = timeRange(q.Get); err != nil {
		WriteError(w, err)
		return
	}
	rep, err := h.Verifier.Verify(r.Context(), req)
	if err != nil {
		WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// timeRange reads the optional from and to times (RFC 3339 or epoch
// milliseconds) that get returns by name ("" for absent).
func timeRange(get func(name string) string) (from, to time.Time, err error) {
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := get(p.name)
		if v == "" {
			continue
		}
		if *p.dst, err = parseParamTime(v); err != nil {
			return time.Time{}, time.Time{}, &InputError{Field: p.name, Message: err.Error()}
		}
	}
	return from, to, nil
}

func parseParamTime(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("%q is not an RFC 3339 time or epoch milliseconds", v)
	}
	return t, nil
}

// Eraser erases a person's data; *Writer is the real one.
type Eraser interface {
	Erase(ctx context.Context, assignee, actor string) (EraseResult, error)
}

// EraseHandler serves POST admin/erase with body {"assignee": "..."}.
type EraseHandler struct {
	Eraser Eraser
	Actor  func(*http.Request) string
}

func (h EraseHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Assignee *string `json:"assignee"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		WriteError(w, &InputError{Field: "body", Message: `expected {"assignee": "<name as stored>"}: ` + err.Error()})
		return
	}
	if req.Assignee == nil {
		WriteError(w, &InputError{Field: "assignee", Message: "required"})
		return
	}
	actor := ""
	if h.Actor != nil {
		actor = h.Actor(r)
	}
	res, err := h.Eraser.Erase(r.Context(), *req.Assignee, actor)
	if err != nil {
		WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// Repairer rebuilds rollups that differ from their raw rows; *Writer is the real one.
type Repairer interface {
	Repair(ctx context.Context, req RepairRequest) (RepairReport, error)
}

// RepairHandler serves POST admin/repair with an optional body
// {"from": ..., "to": ...} (RFC 3339 or epoch milliseconds) restricting the
// rows' time range checked; without it every row is.
type RepairHandler struct {
	Repairer Repairer
}

func (h RepairHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		From json.RawMessage `json:"from"`
		To   json.RawMessage `json:"to"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		WriteError(w, &InputError{Field: "body", Message: `expected {"from": <time>, "to": <time>} (both optional) or no body: ` + err.Error()})
		return
	}
	fields := map[string]json.RawMessage{"from": body.From, "to": body.To}
	var req RepairRequest
	var err error
	if req.From, req.To, err = timeRange(func(name string) string { return strings.Trim(string(fields[name]), `"`) }); err != nil {
		WriteError(w, err)
		return
	}
	rep, err := h.Repairer.Repair(r.Context(), req)
	if err != nil {
		WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
