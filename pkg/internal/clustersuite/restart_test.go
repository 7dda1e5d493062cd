//go:build cluster

package clustersuite

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
)

// retryAdvice is what an error met during a restart must say: to retry.
// The other entries only name the kind of error, for the log.
var retryAdvice = []string{"retry"}

var errorCauses = []string{"Nothing answers as ClickHouse", "No answer from", "No server of one shard"}

// TestClusterRollingRestart restarts the four servers one after the other
// (each stopped cleanly, started again, and caught up before the next) while
// queries of every type run without pause. Every answer is either exactly
// the one given before the restart or an error that says to retry; none is
// a wrong number.
func TestClusterRollingRestart(t *testing.T) {
	e := newEnv(t, nil)
	c, db, ctx, tg := e.c, e.db, e.ctx, e.tg
	tg.migrate(ctx, t)
	d := compareDataset()
	tg.load(ctx, t, &d, 5000)
	db.WaitReplicated(t, time.Minute)

	from, to := compareNow.Add(-10*24*time.Hour+17*time.Minute), compareNow.Add(-3*time.Hour)
	// Every query type that answers, a few of each, with its answer now.
	var queries []compareQuery
	var expected []data.Frames
	for i, q := range compareQueries() {
		if q.queryType == "kpi" && i%7 != 0 {
			continue
		}
		if r := tg.query(ctx, t, q.queryType, q.body, from, to, time.Minute); r.Error == nil {
			queries, expected = append(queries, q), append(expected, r.Frames)
		}
	}
	require.Greater(t, len(queries), 20)

	var answered, failed atomic.Int64
	var kinds errorKinds
	stop := make(chan struct{})
	t.Run("restart", func(t *testing.T) {
		t.Run("queries", func(t *testing.T) {
			t.Parallel()
			for round := 0; ; round++ {
				select {
				case <-stop:
					return
				default:
				}
				for i, q := range queries {
					r := tg.query(ctx, t, q.queryType, q.body, from, to, time.Minute)
					if r.Error != nil {
						failed.Add(1)
						msg := r.Error.Error()
						require.True(t, containsAny(msg, retryAdvice), "%s %v: an error that does not say to retry: %s", q.queryType, q.body, msg)
						for _, f := range r.Frames {
							require.Zero(t, f.Rows(), "no rows beside an error")
						}
						kinds.add(msg)
						time.Sleep(50 * time.Millisecond) // a client retrying, not a busy loop
						continue
					}
					answered.Add(1)
					requireSameFrames(t, expected[i], r.Frames, q.approx)
				}
			}
		})
		t.Run("servers", func(t *testing.T) {
			t.Parallel()
			defer close(stop)
			for _, n := range []*chtest.Node{c.Nodes[1], c.Nodes[3], c.Nodes[2], c.Nodes[0]} {
				c.Stop(t, n)
				time.Sleep(time.Second)
				c.Start(t, n)
				db.WaitReplicated(t, 2*time.Minute)
			}
		})
	})
	t.Logf("%d answers, all as before the restart; %d errors, all saying to retry: %s", answered.Load(), failed.Load(), kinds.String())
	require.NotZero(t, answered.Load())
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// errorKinds counts errors by the ClickHouse code or advice they carry.
type errorKinds struct {
	mu sync.Mutex
	n  map[string]int
}

func (k *errorKinds) add(msg string) {
	kind := "other"
	for _, a := range errorCauses {
		if strings.Contains(msg, a) {
			kind = a
		}
	}
	if m := codeRe.FindStringSubmatch(msg); m != nil {
		kind += " (code " + m[1] + ")"
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n == nil {
		k.n = map[string]int{}
	}
	k.n[kind]++
}

func (k *errorKinds) String() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return fmt.Sprint(k.n)
}

var codeRe = regexp.MustCompile(`code: (\d+)`)
