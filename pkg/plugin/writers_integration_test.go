//go:build integration

package plugin_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// TestIntegrationSeveralWritersOneStream is issue 8.4: several gpx_kpiflow
// processes (as several Grafana replicas) share one ClickHouse and write the
// same stream at once, sending the same keyed batch, batches of their own and
// overlapping unkeyed batches. Every row is stored once, the chain has one
// link per stored batch with no seq shared, and verify proves it.
func TestIntegrationSeveralWritersOneStream(t *testing.T) {
	const procs, rounds = 3, 4
	db := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var plugins []*plugintest.Plugin
	var sources []plugintest.DataSource
	for i := 0; i < procs; i++ {
		p := plugintest.Start(t)
		plugins = append(plugins, p)
		sources = append(sources, p.DataSource(t, db.JSONData(), nil))
	}
	res := plugins[0].CallResource(ctx, t, sources[0].WithRole("Admin"), "POST", "admin/migrate", nil, nil)
	require.Equal(t, 200, res.Status, string(res.Body))

	ts := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	// Distinct rows per batch: the metric names the batch, the value the row.
	kpiBatch := func(tag string, n int) []byte {
		out := []byte("[")
		for i := 0; i < n; i++ {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, fmt.Sprintf(`{"ts": %d, "metric": %q, "value": %d}`, ts.Add(time.Duration(i)*time.Minute).UnixMilli(), tag, i)...)
		}
		return append(out, ']')
	}

	type send struct {
		key  string
		body []byte
	}
	var wg sync.WaitGroup
	errs := make(chan error, procs*rounds*3)
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				for _, s := range []send{
					{"shared-key", kpiBatch("shared", 200)},                                        // same keyed batch from everyone
					{fmt.Sprintf("own-%d-%d", i, r), kpiBatch(fmt.Sprintf("own-%d-%d", i, r), 50)}, // a batch of its own
					{"", kpiBatch("unkeyed", 100)},                                                 // the same rows without a key
				} {
					h := map[string]string{"Content-Type": "application/json"}
					if s.key != "" {
						h["Idempotency-Key"] = s.key
					}
					res := plugins[i].CallResource(ctx, t, sources[i], "POST", "ingest/kpi", h, s.body)
					if res.Status != 200 {
						errs <- fmt.Errorf("process %d, key %q: %d %s", i, s.key, res.Status, res.Body)
					}
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	count := func(q string) uint64 {
		var n uint64
		require.NoError(t, db.Conn.QueryRow(ctx, fmt.Sprintf(q, db.Name)).Scan(&n))
		return n
	}
	want := uint64(200 + procs*rounds*50 + 100)
	require.Equal(t, want, count("SELECT count() FROM %s.kpi_samples"))
	require.Equal(t, want, count("SELECT uniqExact(event_id) FROM %s.kpi_samples"))
	require.Equal(t, want, count("SELECT countMerge(cnt) FROM %s.kpi_rollup_1h"))
	// One link per stored batch (shared, each own, the first unkeyed), seq 1..n.
	links := uint64(1 + procs*rounds + 1)
	require.Equal(t, links, count("SELECT count() FROM %s.ingest_ledger WHERE stream = 'kpi'"))
	require.Equal(t, links, count("SELECT uniqExact(seq) FROM %s.ingest_ledger WHERE stream = 'kpi'"))
	require.Equal(t, links, count("SELECT max(seq) FROM %s.ingest_ledger WHERE stream = 'kpi'"))

	res = plugins[1].CallResource(ctx, t, sources[1], "GET", "ledger/verify?stream=kpi", nil, nil)
	require.Equal(t, 200, res.Status, string(res.Body))
	var rep verifyReport
	res.JSON(t, &rep)
	require.True(t, rep.OK, string(res.Body))
	require.Equal(t, int64(want), rep.Streams[0].Rows)
}
