//go:build cluster

package clustersuite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// target is one configured data source in a running plugin process: on the
// cluster, or on the single test server.
type target struct {
	name string
	p    *plugintest.Plugin
	ds   plugintest.DataSource
}

func (tg target) admin() plugintest.DataSource { return tg.ds.WithRole("Admin") }

// env is one test's cluster: a database on it, a plugin process, and a data
// source with the cluster setting connected to the cluster's first server.
type env struct {
	c   *chtest.Cluster
	db  *chtest.ClusterDatabase
	p   *plugintest.Plugin
	ctx context.Context
	tg  target
}

// newEnv sets up an env; extra is added to the data source's jsonData.
func newEnv(t *testing.T, extra map[string]any) *env {
	c := chtest.NewCluster(t)
	db := c.NewDatabase(t)
	p := plugintest.Start(t)
	jd := db.JSONData(c.Nodes[0])
	for k, v := range extra {
		jd[k] = v
	}
	return &env{c: c, db: db, p: p, ctx: testCtx(t, 10*time.Minute), tg: target{name: "cluster", p: p, ds: p.DataSource(t, jd, nil)}}
}

// singleTarget is a data source on a new database of the single test server.
func singleTarget(t *testing.T, p *plugintest.Plugin) target {
	db := chtest.NewDatabase(t)
	return target{name: "single", p: p, ds: p.DataSource(t, db.JSONData(), nil)}
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func (tg target) migrate(ctx context.Context, t *testing.T) {
	t.Helper()
	r := tg.p.CallResource(ctx, t, tg.admin(), http.MethodPost, "admin/migrate", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s: %s", tg.name, r.Body)
}

type ingestAnswer struct {
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
	BatchID    string `json:"batch_id"`
	LedgerHash string `json:"ledger_hash"`
	Replayed   bool   `json:"replayed"`
	Error      string `json:"error"`
}

// ingest posts one body to ingest/<stream> under an Idempotency-Key ("" for none).
func (tg target) ingest(ctx context.Context, t *testing.T, stream, key string, body []byte) plugintest.Response {
	t.Helper()
	h := map[string]string{"Content-Type": "application/x-ndjson"}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return tg.p.CallResource(ctx, t, tg.ds, http.MethodPost, "ingest/"+stream, h, body)
}

// load sends the whole dataset, stream by stream in chunks of size rows, each
// under the key <stream>-<chunk>, and checks every row was accepted.
func (tg target) load(ctx context.Context, t *testing.T, d *demo.Dataset, size int) {
	t.Helper()
	for _, stream := range demo.Streams() {
		for c, err := range d.Chunks(stream, size) {
			require.NoError(t, err)
			r := tg.ingest(ctx, t, stream, fmt.Sprintf("%s-%d", stream, c.Index), c.Body)
			require.Equal(t, http.StatusOK, r.Status, "%s: %s chunk %d: %s", tg.name, stream, c.Index, r.Body)
			var a ingestAnswer
			r.JSON(t, &a)
			require.Equal(t, c.To-c.From, a.Accepted+a.Duplicates, "%s: %s chunk %d", tg.name, stream, c.Index)
		}
	}
}

type verifyAnswer struct {
	OK      bool            `json:"ok"`
	Break   json.RawMessage `json:"break"`
	Streams []struct {
		Stream string `json:"stream"`
		Links  int    `json:"links"`
		Rows   int64  `json:"rows"`
	} `json:"streams"`
	Unledgered json.RawMessage `json:"unledgered"`
}

// verify calls ledger/verify for every stream and requires it ok.
func (tg target) verify(ctx context.Context, t *testing.T) verifyAnswer {
	t.Helper()
	r := tg.p.CallResource(ctx, t, tg.ds, http.MethodGet, "ledger/verify", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s: %s", tg.name, r.Body)
	var v verifyAnswer
	r.JSON(t, &v)
	require.True(t, v.OK, "%s: ledger/verify: %s", tg.name, r.Body)
	return v
}

// query runs one query through QueryData.
func (tg target) query(ctx context.Context, t testing.TB, queryType string, body map[string]any, from, to time.Time, interval time.Duration) backend.DataResponse {
	t.Helper()
	q := map[string]any{"refId": "A", "queryType": queryType}
	for k, v := range body {
		q[k] = v
	}
	raw, err := json.Marshal(q)
	require.NoError(t, err)
	resp := tg.p.QueryData(ctx, t, tg.ds, nil, backend.DataQuery{RefID: "A", QueryType: queryType, JSON: raw,
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: interval, MaxDataPoints: 1000})
	return resp.Responses["A"]
}

// sqlCount runs a raw SQL query answering one number and returns it.
func (tg target) sqlCount(ctx context.Context, t *testing.T, sql string) float64 {
	t.Helper()
	r := tg.query(ctx, t, "sql", map[string]any{"rawSql": sql, "format": "table"}, time.Now().Add(-time.Hour), time.Now(), time.Minute)
	require.NoError(t, r.Error, "%s: %s", tg.name, sql)
	require.Len(t, r.Frames, 1)
	require.Equal(t, 1, r.Frames[0].Rows(), sql)
	return toFloat(t, r.Frames[0].Fields[0].At(0))
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case *float64:
		return *x
	case *uint64:
		return float64(*x)
	case *int64:
		return float64(*x)
	case float64:
		return x
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	case uint32:
		return float64(x)
	case int32:
		return float64(x)
	}
	t.Fatalf("not a number: %T %v", v, v)
	return 0
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
