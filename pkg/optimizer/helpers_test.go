package optimizer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/internal/wasmtest"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// wat builds a WebAssembly text file (wasmtest.Wat2Wasm).
func wat(t testing.TB, path string, replace ...string) []byte {
	return wasmtest.Wat2Wasm(t, path, replace...)
}

var builtinOnce struct {
	sync.Once
	wasm []byte
	err  error
}

// builtinWasm is the embedded built-in module or, when this checkout has
// not run `mage wasm`, one built now from source (under CI=true it must be
// embedded: CI builds it first).
func builtinWasm(t testing.TB) []byte {
	t.Helper()
	b, err := BuiltinWasm()
	if err == nil {
		return b
	}
	require.ErrorIs(t, err, ErrBuiltinNotBuilt)
	if os.Getenv("CI") == "true" {
		t.Fatal("the built-in module is not embedded: CI must run `mage wasm` before the Go tests")
	}
	builtinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kpiflow-builtin")
		if err != nil {
			builtinOnce.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "optimizer.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s", "-o", out, "./builtin")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			builtinOnce.err = err
			builtinOnce.wasm = msg
			return
		}
		builtinOnce.wasm, builtinOnce.err = os.ReadFile(out)
	})
	require.NoError(t, builtinOnce.err, "build the built-in module: %s", builtinOnce.wasm)
	return builtinOnce.wasm
}

// builtinModule is the built-in module as a configured one (same name).
func builtinModule(t testing.TB) Module {
	return Module{Name: BuiltinName, Wasm: builtinWasm(t)}
}

// calm is a config for tests of what modules answer, not of the deadline:
// a busy test machine must not turn an answer into a timeout.
func calm() Config {
	return NewConfig().WithBuiltin(false).WithCallTimeout(5 * time.Second)
}

// newHost starts a host on cfg, waits for its modules and closes it at the
// end of the test.
func newHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	ctx := context.Background()
	h, err := New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close(context.Background())) })
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, h.Ready(wait))
	return h
}

// kpiPlan is a kpi query's plan on kpi_samples as pkg/query builds it.
func kpiPlan(t testing.TB, raw string, from, to time.Time, maxPoints int64) plan.Plan {
	t.Helper()
	q, err := query.Parse(query.TypeKPI, []byte(raw))
	require.NoError(t, err)
	b, err := q.Build(query.Env{From: from, To: to, Interval: time.Minute, MaxDataPoints: maxPoints, MaxRows: 1000})
	require.NoError(t, err)
	p := b.Plan
	// Build already chose a source (ChooseKPISource); undo that choice.
	p.Source, p.TimeColumn = "kpi_samples", "ts"
	require.NoError(t, p.Validate(query.Catalog()))
	return p
}
