package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kpiflow/kpiflow/pkg/ingest"
)

// fakeGrafana plays Grafana in front of a kpiflow data source: its health,
// data source lookups and the ingest resource, with the ingest API's
// contract (validation by the real ingest.Decode, idempotency keys,
// event_id dedupe), so the command is tested against what it will meet.
type fakeGrafana struct {
	t   *testing.T
	srv *httptest.Server

	token, user, password string
	uid, name             string

	mu sync.Mutex
	// fail is a queue of answers to give to the next ingest calls before
	// handling them normally: a status code, or -1 to drop the connection.
	fail []int
	// unhealthy is how many /api/health calls answer 503 first.
	unhealthy int
	requests  []ingestCall
	keys      map[string]ingestResult     // Idempotency-Key → earlier answer
	events    map[string]map[string]bool  // stream → event_id → stored
	rows      map[string][]map[string]any // stream → stored rows
	migrated  bool
}

type ingestCall struct {
	stream, key, contentType, encoding string
	rows                               int
}

func newFakeGrafana(t *testing.T) *fakeGrafana {
	g := &fakeGrafana{t: t, token: "glsa_test", user: "admin", password: "admin", uid: "kpiflow-uid", name: "KPIs",
		keys: map[string]ingestResult{}, events: map[string]map[string]bool{}, rows: map[string][]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", g.health)
	mux.HandleFunc("GET /api/datasources", g.authed(g.list))
	mux.HandleFunc("GET /api/datasources/name/{name}", g.authed(g.byName))
	mux.HandleFunc("GET /api/datasources/uid/{uid}/health", g.authed(g.dsHealth))
	mux.HandleFunc("POST /api/datasources/uid/{uid}/resources/ingest/{stream}", g.authed(g.ingest))
	mux.HandleFunc("POST /api/datasources/uid/{uid}/resources/admin/migrate", g.authed(g.migrate))
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGrafana) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, basic := r.BasicAuth()
		ok := r.Header.Get("Authorization") == "Bearer "+g.token || (basic && user == g.user && pass == g.password)
		if !ok {
			writeJSONTest(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
			return
		}
		if uid := r.PathValue("uid"); uid != "" && uid != g.uid {
			writeJSONTest(w, http.StatusNotFound, map[string]string{"message": "Data source not found"})
			return
		}
		h(w, r)
	}
}

func writeJSONTest(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *fakeGrafana) health(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unhealthy > 0 {
		g.unhealthy--
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	writeJSONTest(w, http.StatusOK, map[string]string{"database": "ok", "version": "12.4.0"})
}

func (g *fakeGrafana) list(w http.ResponseWriter, _ *http.Request) {
	writeJSONTest(w, http.StatusOK, []map[string]any{
		{"uid": "prom", "name": "Prometheus", "type": "prometheus"},
		{"uid": g.uid, "name": g.name, "type": dataSourceType},
	})
}

func (g *fakeGrafana) byName(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") != g.name {
		writeJSONTest(w, http.StatusNotFound, map[string]string{"message": "Data source not found"})
		return
	}
	writeJSONTest(w, http.StatusOK, map[string]any{"id": 3, "uid": g.uid, "name": g.name, "type": dataSourceType})
}

func (g *fakeGrafana) dsHealth(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	schema := map[bool]string{true: "ready", false: "missing"}[g.migrated]
	g.mu.Unlock()
	writeJSONTest(w, http.StatusOK, map[string]any{"status": "OK", "message": "Connected to ClickHouse",
		"details": map[string]string{"schema": schema}})
}

func (g *fakeGrafana) migrate(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	g.migrated = true
	g.mu.Unlock()
	writeJSONTest(w, http.StatusOK, map[string]any{"applied": []any{}, "version": 1})
}

func (g *fakeGrafana) ingest(w http.ResponseWriter, r *http.Request) {
	stream := r.PathValue("stream")
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": "bad gzip"})
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": "read body"})
		return
	}
	key := r.Header.Get("Idempotency-Key")

	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, ingestCall{stream: stream, key: key, contentType: r.Header.Get("Content-Type"),
		encoding: r.Header.Get("Content-Encoding"), rows: bytes.Count(raw, []byte("\n"))})
	if len(g.fail) > 0 {
		status := g.fail[0]
		g.fail = g.fail[1:]
		// A fresh connection for the next request: Go's transport silently
		// re-sends a request carrying Idempotency-Key when a reused
		// connection drops, which would hide the dropped connection below.
		w.Header().Set("Connection", "close")
		if status == -1 {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			_ = conn.Close()
			return
		}
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "3")
		}
		writeJSONTest(w, status, map[string]string{"error": "injected " + http.StatusText(status)})
		return
	}
	if res, ok := g.keys[key]; ok && key != "" {
		writeJSONTest(w, http.StatusOK, res)
		return
	}
	// The real decoder validates, so the generator's and the CLI's rows are
	// checked against the ingest schema.
	if _, err := ingest.Decode(bytes.NewReader(raw), stream, r.Header.Get("Content-Type"), ingest.DefaultLimits()); err != nil {
		switch e := err.(type) {
		case *ingest.RowErrors:
			writeJSONTest(w, http.StatusBadRequest, e)
		case *ingest.LimitError:
			writeJSONTest(w, http.StatusRequestEntityTooLarge, e)
		default:
			writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		}
		return
	}
	res := ingestResult{BatchID: "b-" + key}
	if g.events[stream] == nil {
		g.events[stream] = map[string]bool{}
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			g.t.Errorf("fake grafana: NDJSON line: %v", err)
			return
		}
		id, _ := row["event_id"].(string)
		if id == "" {
			sum := sha256.Sum256(sc.Bytes())
			id = hex.EncodeToString(sum[:])
		}
		if g.events[stream][id] {
			res.Duplicates++
			continue
		}
		g.events[stream][id] = true
		g.rows[stream] = append(g.rows[stream], row)
		res.Accepted++
	}
	res.LedgerHash = "h" + key
	if key != "" {
		g.keys[key] = res
	}
	writeJSONTest(w, http.StatusOK, res)
}

func (g *fakeGrafana) calls() []ingestCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]ingestCall(nil), g.requests...)
}

func (g *fakeGrafana) stored(stream string) []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.rows[stream]...)
}

// testApp runs the command in-process with buffers, an environment and a
// sleep that only records how long it was asked to wait.
type testApp struct {
	app
	out, errOut bytes.Buffer
	env         map[string]string
	slept       []time.Duration
}

func newTestApp(stdin string) *testApp {
	ta := &testApp{env: map[string]string{}}
	ta.app = app{
		stdin: strings.NewReader(stdin), stdout: &ta.out, stderr: &ta.errOut,
		getenv: func(k string) string { return ta.env[k] },
		now:    func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
		sleep: func(ctx context.Context, d time.Duration) error {
			ta.slept = append(ta.slept, d)
			return ctx.Err()
		},
	}
	return ta
}

func (ta *testApp) exec(args ...string) int {
	return ta.run(context.Background(), args)
}
