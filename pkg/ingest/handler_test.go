package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeWriter is a BatchWriter, Verifier and Eraser built from func fields.
type fakeWriter struct {
	write func(b *Batch, key, actor string) (Result, error)
	got   *Batch
	erase func(assignee string) (EraseResult, error)
}

func (f *fakeWriter) Write(_ context.Context, b *Batch, key, actor string) (Result, error) {
	f.got = b
	if f.write != nil {
		return f.write(b, key, actor)
	}
	return Result{Accepted: b.Len(), BatchID: "b1", LedgerHash: "h"}, nil
}

func (f *fakeWriter) Verify(context.Context, VerifyRequest) (VerifyReport, error) {
	return VerifyReport{OK: true}, nil
}

func (f *fakeWriter) Erase(_ context.Context, assignee, _ string) (EraseResult, error) {
	return f.erase(assignee)
}

func serve(h http.Handler, pattern, method, target string, headers map[string]string, body []byte) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	mux.Handle(pattern, h)
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func gz(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestHandler(t *testing.T) {
	row := `{"ts": 1714564800000, "metric": "m", "value": 1}`
	unavailable := func(*Batch, string, string) (Result, error) {
		return Result{}, &UnavailableError{RetryAfter: DefaultRetryAfter, Err: errors.New("connection refused")}
	}
	tests := []struct {
		name    string
		stream  string
		headers map[string]string
		body    []byte
		write   func(*Batch, string, string) (Result, error)
		status  int
		want    string
	}{
		{"json", "kpi", nil, []byte("[" + row + "]"), nil, 200, `"accepted":1`},
		{"gzip ndjson", "kpi", map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"},
			gz(t, row+"\n"+row+"\n"), nil, 200, `"accepted":2`},
		{"corrupt gzip", "kpi", map[string]string{"Content-Encoding": "gzip"}, []byte("not gzip"), nil, 400, "gzip"},
		{"truncated gzip", "kpi", map[string]string{"Content-Encoding": "gzip"}, gz(t, "["+row+"]")[:20], nil, 400, "gzip"},
		{"other encoding", "kpi", map[string]string{"Content-Encoding": "br"}, []byte("x"), nil, 415, "Content-Encoding"},
		{"other type", "kpi", map[string]string{"Content-Type": "text/csv"}, []byte("x"), nil, 415, "text/csv"},
		{"unknown stream", "nope", nil, []byte("[]"), nil, 404, "unknown ingest stream"},
		{"bad key", "kpi", map[string]string{"Idempotency-Key": "a\x01b"}, []byte("[]"), nil, 400, "Idempotency-Key"},
		{"long key", "kpi", map[string]string{"Idempotency-Key": strings.Repeat("k", 257)}, []byte("[]"), nil, 400, "Idempotency-Key"},
		{"bad rows", "kpi", nil, []byte(`[{"metric": 1}]`), nil, 400, `"field":"ts"`},
		{"unavailable", "kpi", nil, []byte("[" + row + "]"), unavailable, 503, "retry later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := &fakeWriter{write: tt.write}
			rec := serve(Handler{Writer: fw}, "POST /ingest/{stream}", "POST", "/ingest/"+tt.stream, tt.headers, tt.body)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tt.want)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			if tt.status == 503 {
				require.Equal(t, "5", rec.Header().Get("Retry-After"))
			}
			if tt.status != 200 && tt.write == nil {
				require.Nil(t, fw.got, "nothing reaches the writer on a rejected request")
			}
		})
	}
}

func TestHandlerBodyLimits(t *testing.T) {
	fw := &fakeWriter{}
	h := Handler{Writer: fw, Limits: Limits{MaxBodyBytes: 100}}
	big := []byte("[" + strings.Repeat(" ", 200) + "]")
	rec := serve(h, "POST /ingest/{stream}", "POST", "/ingest/kpi", nil, big)
	require.Equal(t, 413, rec.Code)
	var le LimitError
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &le))
	require.Equal(t, "max_body_bytes", le.Limit)

	rec = serve(h, "POST /ingest/{stream}", "POST", "/ingest/kpi", map[string]string{"Content-Encoding": "gzip"}, gz(t, string(big)))
	require.Equal(t, 413, rec.Code)
	require.Contains(t, rec.Body.String(), "decompressed request body")
	require.Nil(t, fw.got)
}

func TestLedgerHandlers(t *testing.T) {
	fw := &fakeWriter{erase: func(a string) (EraseResult, error) {
		return EraseResult{Rows: 1, Tombstone: "[erased #1]"}, nil
	}}
	v := VerifyHandler{Verifier: fw}
	rec := serve(v, "GET /ledger/verify", "GET", "/ledger/verify?stream=kpi&from=1714564800000&to=2024-05-02T00:00:00Z", nil, nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	rec = serve(v, "GET /ledger/verify", "GET", "/ledger/verify?from=yesterday", nil, nil)
	require.Equal(t, 400, rec.Code)
	require.Contains(t, rec.Body.String(), `"field":"from"`)
	rec = serve(v, "GET /ledger/verify", "GET", "/ledger/verify?stream=logs", nil, nil)
	require.Equal(t, 400, rec.Code)

	e := EraseHandler{Eraser: fw}
	rec = serve(e, "POST /admin/erase", "POST", "/admin/erase", nil, []byte(`{"assignee": "Ann"}`))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	rec = serve(e, "POST /admin/erase", "POST", "/admin/erase", nil, []byte(`{"name": "Ann"}`))
	require.Equal(t, 400, rec.Code)
	rec = serve(e, "POST /admin/erase", "POST", "/admin/erase", nil, []byte(`{}`))
	require.Equal(t, 400, rec.Code)
	require.Contains(t, rec.Body.String(), "assignee")
}
