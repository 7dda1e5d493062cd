package optimizer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"
)

// MemoryLimit caps every instance's memory: 16 MiB (256 pages).
const MemoryLimit = 16 << 20

// Engine is the WebAssembly runtime that hosts share: it compiles each
// module once per process and keeps it while any host uses it, so a data
// source instance created after a settings change finds its modules
// compiled. Compiling a Go-built module takes seconds; instantiating it,
// milliseconds.
//
//	eng, err := optimizer.NewEngine(ctx, optimizer.DefaultCacheDir())
//	defer eng.Close(ctx)
//	eng.Precompile(optimizer.BuiltinWasm)    // at start-up, in the background
//	h, err := optimizer.New(ctx, optimizer.NewConfig().WithEngine(eng))
//
// # Notes
//
//   - Every instance gets MemoryLimit, and wazero's WithCloseOnContextDone
//     makes a call's context deadline stop it.
//   - Modules are keyed by their bytes' SHA-256. One compiled by Precompile
//     stays until Close; others go when the last host using them closes.
//   - With a cache directory, wazero keeps the compiled code on disk too
//     (one entry per module and wazero version), so the next plugin process
//     loads it instead of compiling again: the built-in module then takes
//     about a second to be ready instead of up to twenty on a busy machine.
//     The directory holds native code the process will run, so it must be
//     writable by this user only: one writable by group or others is
//     refused (NewEngine fails; pass "" to run without it).
//   - Close the hosts first.
type Engine struct {
	rt     wazero.Runtime
	cache  wazero.CompilationCache // nil without a cache directory
	ctx    context.Context         // ends at Close: stops compiles under way
	cancel context.CancelFunc

	mu       sync.Mutex
	compiled map[[32]byte]*compiled
}

// compiled is one module compiled (or being compiled) by the engine.
type compiled struct {
	done chan struct{} // closed when cm or err is set
	cm   wazero.CompiledModule
	err  error
	// reactor: the module exports _initialize, run once per instance.
	reactor bool
	refs    int
	pinned  bool
}

// NewEngine starts the runtime and its inert imports (wasi.go). cacheDir,
// when not "", keeps compiled modules on disk for the next process (see
// DefaultCacheDir); it is created if missing.
func NewEngine(ctx context.Context, cacheDir string) (*Engine, error) {
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(MemoryLimit / 65536).
		// Allocate the capped memory up front: memory.grow then never
		// copies, so a module growing page by page costs nothing.
		WithMemoryCapacityFromMax(true).
		WithCloseOnContextDone(true).
		WithDebugInfoEnabled(false)
	var cache wazero.CompilationCache
	if cacheDir != "" {
		var err error
		if cache, err = openCache(cacheDir); err != nil {
			return nil, err
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if err := instantiateInert(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		if cache != nil {
			_ = cache.Close(ctx)
		}
		return nil, err
	}
	e := &Engine{rt: rt, cache: cache, compiled: map[[32]byte]*compiled{}}
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return e, nil
}

// DefaultCacheDir is where the plugin keeps compiled modules: kpiflow's
// directory in the user's cache directory ($XDG_CACHE_HOME or ~/.cache on
// Linux), or "" (no disk cache) when the user has none.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "kpiflow", "optimizer")
}

// openCache opens wazero's compilation cache in dir after checking that no
// one but this user can write there.
func openCache(dir string) (wazero.CompilationCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("the optimizer's compilation cache: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("the optimizer's compilation cache: %w", err)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("the optimizer's compilation cache %s is writable by group or others (mode %v): "+
			"it holds native code this process runs, so make it writable by its owner only (chmod go-w)", dir, st.Mode().Perm())
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("the optimizer's compilation cache in %s: %w", dir, err)
	}
	return cache, nil
}

// Precompile compiles modules in the background and keeps them until Close,
// so hosts created later find them ready. A module that cannot be read or
// compiled is left for the hosts to report.
func (e *Engine) Precompile(wasm ...func() ([]byte, error)) {
	for _, w := range wasm {
		go func() {
			code, err := w()
			if err != nil {
				return
			}
			if c, err := e.compile(e.ctx, code); err == nil {
				e.mu.Lock()
				c.pinned = true
				e.mu.Unlock()
				e.release(c)
			}
		}()
	}
}

// ready returns the compiled module for code, taking a reference, when it
// is already compiled; nil otherwise.
func (e *Engine) ready(code []byte) *compiled {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.compiled[sha256.Sum256(code)]
	if !ok || c.cm == nil {
		return nil
	}
	c.refs++
	return c
}

// compile returns the compiled module for code, compiling it if no one has
// (or waiting for whoever is), with a reference the caller releases.
func (e *Engine) compile(ctx context.Context, code []byte) (*compiled, error) {
	key := sha256.Sum256(code)
	e.mu.Lock()
	if e.compiled == nil {
		e.mu.Unlock()
		return nil, errors.New("the optimizer engine is closed")
	}
	c, found := e.compiled[key]
	if !found {
		c = &compiled{done: make(chan struct{})}
		e.compiled[key] = c
	}
	c.refs++
	e.mu.Unlock()

	if !found {
		cm, err := e.rt.CompileModule(ctx, code)
		if err != nil {
			err = fmt.Errorf("compile: %w", err)
		} else if err = checkModule(cm); err != nil {
			_ = cm.Close(ctx)
			cm = nil
		}
		e.mu.Lock()
		c.cm, c.err = cm, err
		if cm != nil {
			init, ok := cm.ExportedFunctions()["_initialize"]
			c.reactor = ok && len(init.ParamTypes()) == 0 && len(init.ResultTypes()) == 0
		}
		e.mu.Unlock()
		close(c.done)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		e.release(c)
		return nil, ctx.Err()
	}
	if c.err != nil {
		err := c.err
		e.release(c)
		return nil, err
	}
	return c, nil
}

// release drops a reference; the last one closes a module nobody pinned.
func (e *Engine) release(c *compiled) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c.refs--
	if c.refs > 0 || c.pinned {
		return
	}
	for k, v := range e.compiled {
		if v == c {
			delete(e.compiled, k)
		}
	}
	if c.cm != nil {
		_ = c.cm.Close(context.Background())
	}
}

// instantiate starts one instance of c, bounded by ctx.
func (e *Engine) instantiate(ctx context.Context, c *compiled) (*instance, *callState, error) {
	state := &callState{}
	ctx = context.WithValue(ctx, callStateKey{}, state)
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	if c.reactor {
		mc = mc.WithStartFunctions("_initialize")
	}
	mod, err := e.rt.InstantiateModule(ctx, c.cm, mc)
	if err != nil {
		return nil, state, err
	}
	return &instance{mod: mod, alloc: mod.ExportedFunction("alloc"), free: mod.ExportedFunction("free"),
		optimize: mod.ExportedFunction("optimize")}, state, nil
}

// Close ends compiles under way and closes the runtime with every module
// and instance.
func (e *Engine) Close(ctx context.Context) error {
	e.cancel()
	e.mu.Lock()
	e.compiled = nil
	e.mu.Unlock()
	err := e.rt.Close(ctx)
	if e.cache != nil {
		err = errors.Join(err, e.cache.Close(ctx))
	}
	if err != nil {
		return fmt.Errorf("close the optimizer engine: %w", err)
	}
	return nil
}
