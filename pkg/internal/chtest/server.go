package chtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a private clickhouse-server for one test, for fault tests that
// kill and restart it (never the shared server of CLICKHOUSE_ADDR). It is
// started by scripts/clickhouse.sh, so it has the same configuration.
//
//	srv := chtest.StartServer(t) // stopped and removed when t ends
//	err := srv.Kill()            // SIGKILL, as a crash
//	srv.Restart(t)               // same ports, same data directory
type Server struct {
	// Addr is the native protocol's host:port; it stays the same on Restart.
	Addr string
	// Dir holds the configuration, data and logs.
	Dir    string
	pid    int
	script string
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
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{script: filepath.Join(root, "scripts", "clickhouse.sh")}
	if err := s.run(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Kill()
		_ = os.RemoveAll(s.Dir)
	})
	return s
}

// run starts the script (on s.Dir when set) and reads what it exports.
func (s *Server) run() error {
	args := []string{s.script, "start"}
	if s.Dir != "" {
		args = append(args, s.Dir)
	}
	cmd := exec.Command("bash", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("start a private ClickHouse: %w\n%s", err, stderr.String())
	}
	vars := map[string]string{}
	for _, f := range strings.Fields(strings.TrimPrefix(strings.TrimSpace(string(out)), "export ")) {
		k, v, _ := strings.Cut(f, "=")
		vars[k] = v
	}
	pid, err := strconv.Atoi(vars["CLICKHOUSE_PID"])
	if err != nil || vars["CLICKHOUSE_ADDR"] == "" {
		return fmt.Errorf("scripts/clickhouse.sh start printed %q", out)
	}
	s.Addr, s.Dir, s.pid = vars["CLICKHOUSE_ADDR"], vars["CLICKHOUSE_DIR"], pid
	return nil
}

// PID is the running server's process id.
func (s *Server) PID() int { return s.pid }

// Kill ends the server with SIGKILL, as a crash would, and waits until it is
// gone and its port is closed. It may be called from any goroutine.
func (s *Server) Kill() error {
	if s.pid == 0 {
		return nil
	}
	pid := s.pid
	s.pid = 0
	_ = syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			if c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond); err == nil {
				_ = c.Close()
			} else {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("ClickHouse (pid %d) is still running 30 s after SIGKILL", pid)
}

// alive reports whether pid runs (a zombie, waiting for its parent, does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// Restart starts the server again on the same directory and ports (after
// Kill), and waits until it answers.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
}

// Start is Restart for any goroutine: it returns the error.
func (s *Server) Start() error {
	if s.pid != 0 {
		return errors.New("start ClickHouse: the server is still running; Kill it first")
	}
	return s.run()
}

func moduleRoot() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	return filepath.Dir(string(bytes.TrimSpace(out))), nil
}
