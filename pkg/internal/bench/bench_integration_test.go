//go:build integration

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/chtest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// TestSmoke runs the benchmark once in each mode with tiny datasets, so CI
// keeps it working; the figures are meaningless at this size.
func TestSmoke(t *testing.T) {
	addr := chtest.Addr(t)
	bin := os.Getenv("KPIFLOW_PLUGIN_BIN")
	if bin == "" {
		var err error
		bin, err = plugintest.Build(t.TempDir())
		require.NoError(t, err)
	}
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	common := []string{"-smoke", "-plugin", bin, "-db-prefix", "kpiflow_bench_" + hex.EncodeToString(buf)}
	tests := []struct {
		name string
		args []string
		// want are patterns the output must match.
		want []string
	}{
		{
			name: "query mode",
			args: []string{"-clickhouse", addr, "query"},
			want: []string{`(?m)^sql SELECT 1 +\|1 +\|1 +\|.*\|\d+\.\d\dx / \d+\.\d\dx`, `(?m)^sql 1M rows, dense +\|\d+`, `(?m)^floor \(hidden kpi, no SQL\) +\|0 `},
		},
		{
			name: "load mode",
			args: []string{"-clickhouse", addr, "-datasets", "demo", "load"},
			// p50 is a Go duration: 850ms, or 1.2s and 1m3s on a busy machine.
			want: []string{`(?m)^\| 1 \| \d+ \| [\d.]+ \| (?:[\d.]+(?:h|m|s|ms|µs|ns))+ \| .* \| 0 \| \d+ MiB \|`, `(?m)^\| 3 \| `},
		},
		{
			name: "cancel with the pool in use",
			args: []string{"-clickhouse", addr, "-datasets", "demo", "-scenario", "cancel", "load"},
			want: []string{`cancel with 2 in flight \(pool of 10\): 2 running on the server when cancelled; all stopped on the server`},
		},
		{
			name: "live mode",
			args: []string{"-clickhouse", addr, "live"},
			want: []string{`(?m)^\| ingest accepted → frame \| 6 \| 3 \| 18 \| .* \| 0 \| 0 \|$`, `(?m)^\| direct insert returned → frame \| 2 \| 3 \| 6 \| .* \| 0 \| 0 \|$`},
		},
		{
			name: "chunked mode",
			args: []string{"-clickhouse", addr, "chunked"},
			want: []string{`(?m)^\| QueryChunkedData \| 100000 \| \d+ \|`, `(?m)^\| QueryData \| 100000 \| 1 \|`, `peak RSS: chunked \d+ MiB, QueryData \d+ MiB`},
		},
		{
			name: "kill and restart ClickHouse",
			args: []string{"-datasets", "demo", "-scenario", "restart", "-clients", "1", "-duration", "4s", "load"},
			want: []string{`C=1: ClickHouse killed at`, `C=1: ClickHouse accepting connections again at`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "kill and restart ClickHouse" {
				if _, err := exec.LookPath("clickhouse-server"); err != nil && os.Getenv("CI") != "true" {
					t.Skip("clickhouse-server is not installed here: the restart scenario starts a private one")
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var out bytes.Buffer
			err := run(ctx, append(append([]string{}, common...), tc.args...), &out, &out)
			require.NoError(t, err, out.String())
			for _, w := range tc.want {
				require.Regexp(t, regexp.MustCompile(w), out.String())
			}
		})
	}
}
