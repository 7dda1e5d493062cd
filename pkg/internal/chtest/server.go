package chtest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/kpiflow/kpiflow/pkg/internal/chserver"
)

// Server is a private clickhouse-server for one test (chserver's), for
// fault tests that kill and restart it: never the shared server of
// CLICKHOUSE_ADDR.
//
//	srv := chtest.StartServer(t) // stopped and removed when t ends
//	err := srv.Kill()            // SIGKILL, as a crash
//	srv.Restart(t)               // same ports, same data directory
type Server struct {
	*chserver.Server
}

// StartServer starts a private server; it is killed and its directory removed
// when t ends. Without clickhouse-server the test is skipped (failed under CI=true).
func StartServer(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("clickhouse-server is not installed: CI installs it through .ci/run")
		}
		t.Skip("clickhouse-server is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return &Server{srv}
}

// Restart starts the server again on the same directory and ports (after
// Kill), and waits until it takes connections.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Server.Restart(ctx); err != nil {
		t.Fatal(err)
	}
}
