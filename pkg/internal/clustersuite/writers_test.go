//go:build cluster

package clustersuite

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// TestClusterSeveralWriters runs three plugin processes, standing for three
// Grafana replicas behind a load balancer, connected to different servers of
// the cluster. They write one stream at the same time: every process sends
// the same shared batches (under the same Idempotency-Keys, as a client
// retrying through the load balancer would) and batches of its own. Every
// row is stored once on both replicas of its shard, and the ledger verifies
// with one link per batch.
func TestClusterSeveralWriters(t *testing.T) {
	// No server is stopped here: runs beside the other such tests, after the fault tests.
	t.Parallel()
	c := chtest.NewCluster(t)
	db := c.NewDatabase(t)
	ctx := testCtx(t, 10*time.Minute)
	d := demo.Generate(demo.Options{Seed: 9, Days: 6, Teams: 2, Now: faultNow, KPIInterval: 30 * time.Minute})
	const size = 100
	var chunks []demo.Chunk
	for ch, err := range d.Chunks(demo.StreamKPI, size) {
		require.NoError(t, err)
		chunks = append(chunks, ch)
	}
	const writers = 3
	require.Greater(t, len(chunks), 4*writers)
	shared := len(chunks) / 2 // chunks [0, shared) go to every writer

	var tgs []target
	for i, node := range []*chtest.Node{c.Nodes[0], c.Nodes[2], c.Nodes[0]} {
		p := plugintest.Start(t)
		tg := target{name: fmt.Sprintf("writer %d (%s)", i+1, node), p: p, ds: p.DataSource(t, db.JSONData(node), nil)}
		tgs = append(tgs, tg)
	}
	tgs[0].migrate(ctx, t)

	var stored, replayed, unavailable atomic.Int64
	start := time.Now()
	t.Run("writers", func(t *testing.T) {
		for w, tg := range tgs {
			t.Run(tg.name, func(t *testing.T) {
				t.Parallel()
				// Each writer sends the shared chunks in its own order, and
				// every writers-th other chunk as its own.
				var mine []int
				for i := range shared {
					mine = append(mine, (i+w*shared/writers)%shared)
				}
				for i := shared + w; i < len(chunks); i += writers {
					mine = append(mine, i)
				}
				for _, i := range mine {
					ch := chunks[i]
					key := fmt.Sprintf("kpi-%d", ch.Index)
					for attempt := 0; ; attempt++ {
						r := tg.ingest(ctx, t, demo.StreamKPI, key, ch.Body)
						if r.Status == http.StatusServiceUnavailable && attempt < 100 {
							unavailable.Add(1)
							time.Sleep(200 * time.Millisecond)
							continue
						}
						require.Equal(t, http.StatusOK, r.Status, "%s: chunk %d: %s", tg.name, ch.Index, r.Body)
						var a ingestAnswer
						r.JSON(t, &a)
						if a.Replayed {
							replayed.Add(1)
						} else {
							stored.Add(1)
						}
						break
					}
				}
			})
		}
	})
	t.Logf("%d writers, %d chunks (%d shared by all): %d stored, %d answered as replays, %d 503s retried, in %s",
		writers, len(chunks), shared, stored.Load(), replayed.Load(), unavailable.Load(), time.Since(start))

	tg := tgs[0]
	requireExactlyOnce(ctx, t, tg, db, &demo.Dataset{KPI: d.KPI})
	v := tg.verify(ctx, t)
	for _, s := range v.Streams {
		if s.Stream == demo.StreamKPI {
			require.Equal(t, len(chunks), s.Links, "one link per batch")
		}
	}
}
