// Package chserver runs a private clickhouse-server for programs and fault
// tests that must kill and restart it: the server is started by
// scripts/clickhouse.sh (the one place that writes its configuration), and
// Kill, Restart and Stop act only on that server's own pid.
//
//	srv, err := chserver.Start(ctx)
//	defer srv.Stop()
//	srv.Kill()               // SIGKILL, as a crash would
//	err = srv.Restart(ctx)   // same ports, same data directory
//
// # Notes
//
// The process scripts/clickhouse.sh starts is not a child of this one (the
// script's shell exits), so Kill waits for it by polling its pid. A restarted
// server is a child of this process.
package chserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running private clickhouse-server.
type Server struct {
	// Addr is the native protocol's host:port on loopback.
	Addr string
	// Dir holds its configuration, data and logs; Stop removes it.
	Dir    string
	script string
	pid    int
	cmd    *exec.Cmd // set when Restart started the process
}

// Start runs scripts/clickhouse.sh start from the module root.
func Start(ctx context.Context) (*Server, error) {
	script, err := scriptPath()
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "bash", script, "start").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("start a private ClickHouse with %s: %w\n%s", script, err, ee.Stderr)
		}
		return nil, fmt.Errorf("start a private ClickHouse with %s: %w", script, err)
	}
	// The script prints: export CLICKHOUSE_ADDR=... CLICKHOUSE_PID=... CLICKHOUSE_DIR=...
	vars := map[string]string{}
	for _, f := range strings.Fields(string(out)) {
		if k, v, ok := strings.Cut(f, "="); ok {
			vars[k] = v
		}
	}
	pid, err := strconv.Atoi(vars["CLICKHOUSE_PID"])
	if err != nil || vars["CLICKHOUSE_ADDR"] == "" || vars["CLICKHOUSE_DIR"] == "" {
		return nil, fmt.Errorf("unexpected output from %s start: %q", script, out)
	}
	return &Server{Addr: vars["CLICKHOUSE_ADDR"], Dir: vars["CLICKHOUSE_DIR"], script: script, pid: pid}, nil
}

// Pid is the server process's id.
func (s *Server) Pid() int { return s.pid }

// Kill ends the server with SIGKILL and waits until the process is gone.
func (s *Server) Kill() error {
	if s.pid == 0 {
		return nil
	}
	if err := syscall.Kill(s.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill ClickHouse pid %d: %w", s.pid, err)
	}
	if s.cmd != nil {
		_ = s.cmd.Wait()
	} else {
		for Alive(s.pid) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	s.pid, s.cmd = 0, nil
	return nil
}

// Alive reports whether pid runs. A process that is not our child stays a
// zombie until whoever adopted it reaps it, and signal 0 still reaches a
// zombie, so its state in /proc decides.
func Alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// Restart starts the server again with the same configuration (so the same
// ports and data) and waits until it accepts connections.
func (s *Server) Restart(ctx context.Context) error {
	if s.pid != 0 {
		return fmt.Errorf("ClickHouse pid %d is still running: Kill it first", s.pid)
	}
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		return fmt.Errorf("restart ClickHouse: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, "log", "stdout.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("restart ClickHouse: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--config-file="+filepath.Join(s.Dir, "config.xml"))
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.Dir, logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart ClickHouse: %w", err)
	}
	s.pid, s.cmd = cmd.Process.Pid, cmd
	return s.waitReady(ctx)
}

// waitReady waits until the native port takes connections and answers a hello.
func (s *Server) waitReady(ctx context.Context) error {
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ClickHouse at %s did not come back: %w", s.Addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the server and removes its directory.
func (s *Server) Stop() error {
	err := s.Kill()
	if rmErr := os.RemoveAll(s.Dir); rmErr != nil && err == nil {
		err = fmt.Errorf("remove %s: %w", s.Dir, rmErr)
	}
	return err
}

// scriptPath finds scripts/clickhouse.sh from this source file: the package
// only runs from a source checkout (go run, go test).
func scriptPath() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("find scripts/clickhouse.sh: no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "clickhouse.sh"), nil
}
