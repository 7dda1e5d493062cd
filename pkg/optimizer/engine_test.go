package optimizer

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpiflow/kpiflow/pkg/query"
)

// TestEngineSharesCompiledModules: hosts on one engine compile a module
// once; a host created after that finds it ready at once; the module stays
// while a host uses it and goes with the last one.
func TestEngineSharesCompiledModules(t *testing.T) {
	ctx := context.Background()
	eng, err := NewEngine(ctx, "")
	require.NoError(t, err)
	defer eng.Close(ctx)
	note := Module{Name: "note", Wasm: wat(t, "examples/note/note.wat")}

	h1, err := New(ctx, calm().WithEngine(eng).WithModules(note))
	require.NoError(t, err)
	require.NoError(t, h1.Ready(ctx))
	h2, err := New(ctx, calm().WithEngine(eng).WithModules(note))
	require.NoError(t, err)
	require.Equal(t, StateReady, h2.Health()[0].State, "compiled already: ready when New returns")
	require.Len(t, eng.compiled, 1, "compiled once")

	require.NoError(t, h1.Close(ctx))
	p := hostilePlan(t)
	_, notices := h2.Optimize(ctx, p, query.Catalog())
	require.Equal(t, NoticeNoted, notices[0].Kind, "still there for the other host")
	require.NoError(t, h2.Close(ctx))
	eng.mu.Lock()
	require.Empty(t, eng.compiled, "dropped with the last host")
	eng.mu.Unlock()
}

// TestEnginePrecompile: a precompiled module (the built-in one, at
// start-up) is ready for every host created later, and stays.
func TestEnginePrecompile(t *testing.T) {
	ctx := context.Background()
	eng, err := NewEngine(ctx, "")
	require.NoError(t, err)
	defer eng.Close(ctx)
	code := wat(t, "examples/note/note.wat")
	eng.Precompile(func() ([]byte, error) { return code, nil })
	require.Eventually(t, func() bool {
		if c := eng.ready(code); c != nil {
			eng.release(c)
			return true
		}
		return false
	}, time.Minute, 10*time.Millisecond)
	for range 2 {
		h, err := New(ctx, calm().WithEngine(eng).WithModules(Module{Name: "note", Wasm: code}))
		require.NoError(t, err)
		require.Equal(t, StateReady, h.Health()[0].State)
		require.NoError(t, h.Close(ctx))
		require.Len(t, eng.compiled, 1, "pinned")
	}
}

// TestSteps: the chain as query.Rewriter steps: a notice for a module that
// ran, an error for one that failed, and the plan it had.
func TestSteps(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, calm().WithModules(Module{Name: "note", Wasm: wat(t, "examples/note/note.wat")},
		Module{Name: "trap", Wasm: wat(t, "testdata/hostile/trap.wat")}))
	steps := h.Steps()
	require.Len(t, steps, 2)
	p := hostilePlan(t)
	got, notes, err := steps[0].Rewrite(ctx, p, query.Catalog())
	require.NoError(t, err)
	require.Equal(t, p, got)
	require.Len(t, notes, 1)
	require.Contains(t, notes[0], `Optimizer module "note" kept the plan`)
	got, notes, err = steps[1].Rewrite(ctx, p, query.Catalog())
	require.Equal(t, p, got)
	require.Empty(t, notes)
	require.ErrorContains(t, err, `optimizer module "trap" failed after `)
	require.ErrorContains(t, err, ": trapped: wasm error: unreachable")
}

// TestEngineDiskCache: an engine with a cache directory leaves the compiled
// module there, and a later engine (the next plugin process) loads and runs
// it; a directory others may write to is refused.
func TestEngineDiskCache(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache")
	code := wat(t, "examples/note/note.wat")
	for round := range 2 {
		eng, err := NewEngine(ctx, dir)
		require.NoError(t, err)
		h, err := New(ctx, calm().WithEngine(eng).WithModules(Module{Name: "note", Wasm: code}))
		require.NoError(t, err)
		require.NoError(t, h.Ready(ctx))
		_, notices := h.Optimize(ctx, hostilePlan(t), query.Catalog())
		require.Equal(t, NoticeNoted, notices[0].Kind, "round %d", round)
		require.NoError(t, h.Close(ctx))
		require.NoError(t, eng.Close(ctx))
		var files int
		require.NoError(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files++
			}
			return err
		}))
		require.Equal(t, 1, files, "one compiled module on disk after round %d", round)
	}

	open := t.TempDir()
	require.NoError(t, os.Chmod(open, 0o777))
	_, err := NewEngine(ctx, open)
	require.ErrorContains(t, err, "is writable by group or others (mode -rwxrwxrwx)")
}
