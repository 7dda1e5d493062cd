//go:build integration

package main

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
)

// syncBuffer is a bytes.Buffer the plugin's log reader writes to while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIntegrationLogLevel: the SDK's per-request debug line is not written
// unless the plugin's log_level setting (GF_PLUGIN_LOG_LEVEL) asks for it;
// the info line that ends each request always is.
func TestIntegrationLogLevel(t *testing.T) {
	bin := os.Getenv("KPIFLOW_PLUGIN_BIN")
	if bin == "" {
		var err error
		bin, err = plugintest.Build(t.TempDir())
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		env       []string
		wantDebug bool
	}{
		{env: nil, wantDebug: false},
		{env: []string{"GF_PLUGIN_LOG_LEVEL=debug"}, wantDebug: true},
	} {
		var logs syncBuffer
		p, err := plugintest.Launch(plugintest.Options{Binary: bin, Env: tc.env, Log: &logs, LogLevel: hclog.Debug})
		require.NoError(t, err)
		ds, err := plugintest.NewDataSource(map[string]any{"host": "127.0.0.1", "port": 1}, nil)
		require.NoError(t, err)
		// A hidden query: answered without ClickHouse.
		p.QueryData(context.Background(), t, ds, nil, backend.DataQuery{RefID: "A", QueryType: "kpi",
			JSON: []byte(`{"metrics":["m"],"aggregation":"avg","hide":true}`)})
		require.Eventually(t, func() bool { return bytes.Contains([]byte(logs.String()), []byte("Plugin Request Completed")) },
			10*time.Second, 20*time.Millisecond)
		p.Kill()
		require.Equal(t, tc.wantDebug, bytes.Contains([]byte(logs.String()), []byte("Plugin Request Started")), "env %v: %s", tc.env, logs.String())
	}
}
