//go:build integration

package plugin_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// procKiB reads a "VmXXX:  123 kB" line of /proc/<pid>/status, in bytes.
func procKiB(t *testing.T, pid int, key string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// TestIntegrationResultBytesCap: the row cap did not bound memory (issue
// 8.7: SELECT toString(range(200000)) FROM numbers(1000), one block of 1.3
// GB, took the plugin to 4.17 GB). With maxResultBytes the result is cut at
// the cap with a notice, and the plugin's peak memory (VmHWM, reset before
// each query) grows by at most a small multiple of the cap, whether the
// result comes as many blocks or as one block far larger than the cap.
func TestIntegrationResultBytesCap(t *testing.T) {
	const capBytes = 8 << 20
	const multiple = 8
	db := chtest.NewDatabase(t)
	p := plugintest.Start(t)
	jd := db.JSONData()
	jd["maxResultBytes"] = capBytes
	jd["maxRows"] = 10_000_000
	ds := p.DataSource(t, jd, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pid := p.Pid()
	// Warm up: the first query starts the pool and the instance.
	r := p.QueryData(ctx, t, ds, nil, rawQuery("A", "SELECT 1", backend.TimeRange{}, nil)).Responses["A"]
	require.NoError(t, r.Error)

	for _, c := range []struct {
		name, sql string
		rows      int // the whole result's rows
	}{
		{"one block 13x the cap", "SELECT toString(range(20000)) AS s FROM numbers(1000)", 1000},
		{"many blocks", "SELECT number, toString(number) AS s FROM numbers(10000000)", 10_000_000},
		{"wide rows, a block each", "SELECT toString(range(150000)) AS s FROM numbers(200) SETTINGS max_block_size = 1", 200},
		{"under the cap", "SELECT number FROM numbers(100000)", 100_000},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0))
			before := procKiB(t, pid, "VmRSS")
			r := p.QueryData(ctx, t, ds, nil, rawQuery("A", c.sql, backend.TimeRange{}, nil)).Responses["A"]
			peak := procKiB(t, pid, "VmHWM")
			require.NoError(t, r.Error)
			got := r.Frames[0].Rows()
			growth := peak - before
			t.Logf("%s: %d of %d rows, peak RSS grew %.1f MiB (%.1fx the %d MiB cap)", c.name, got, c.rows,
				float64(growth)/(1<<20), float64(growth)/capBytes, capBytes>>20)
			if c.rows == 100_000 {
				require.Equal(t, c.rows, got)
				require.Empty(t, notices(r))
			} else {
				require.Less(t, got, c.rows)
				require.Contains(t, notices(r), "maxResultBytes")
				require.Contains(t, notices(r), "8 MiB")
			}
			require.LessOrEqual(t, growth, int64(multiple*capBytes), "the plugin's peak memory grew past %dx the cap", multiple)
		})
	}
	require.False(t, p.Exited())
}
