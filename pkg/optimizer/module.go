package optimizer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// maxModuleFile bounds a module file read from disk.
const maxModuleFile = 64 << 20

// Module states, as Health reports them.
const (
	StateLoading  = "loading"   // compiling in the background
	StateReady    = "ready"     // in the chain
	StateOff      = "off"       // switched off for a while after failures in a row
	StateFailed   = "failed"    // could not be loaded: see Error
	StateNotBuilt = "not_built" // the built-in module is missing from this binary
)

// exitWatchdog is the exit code the watchdog closes a late instance with.
const exitWatchdog = 0xdead

// errCancelled is a call given up because the query was cancelled: not the
// module's fault.
var errCancelled = errors.New("the query was cancelled")

// errBusy is a call that found no free instance in time: the pool is busy
// with other queries, which is not the module failing.
var errBusy = errors.New("no instance was free within the call's deadline")

// abiExports are the functions ABI v1 requires, with their signatures.
func abiExports() map[string][2][]api.ValueType {
	return map[string][2][]api.ValueType{
		"kpiflow_abi_v1": {nil, nil},
		"alloc":          {{i32}, {i32}},
		"free":           {{i32, i32}, nil},
		"optimize":       {{i32, i32}, {i64}},
	}
}

// module is one module of the chain: its compiled code (shared through
// the engine), its instance pool and its breaker.
type module struct {
	h      *Host
	name   string
	origin string // "built-in" or the file's path
	config []byte // the request's "config" JSON

	mu       sync.Mutex
	state    string
	loadErr  error
	code     *compiled
	breaker  breaker
	calls    uint64
	changed  uint64
	failures uint64
	lastFail string
	// The pool: idle instances, and how many exist (idle or in use).
	idle   chan *instance
	total  int
	closed bool
}

// instance is one instantiated module.
type instance struct {
	mod                   api.Module
	alloc, free, optimize api.Function
	// phase is running while a call is under way, then either finished (by
	// the call) or abandoned (by the watchdog), whichever comes first.
	phase atomic.Int32
}

const (
	phaseRunning int32 = iota
	phaseFinished
	phaseAbandoned
)

// load reads, verifies and compiles the module (or finds it compiled),
// checks ABI v1 and starts the first instance. It runs in the background
// from New.
func (m *module) load(ctx context.Context, wasm func() ([]byte, error)) {
	defer m.h.wg.Done()
	code, err := wasm()
	var c *compiled
	if err == nil {
		c, err = m.h.engine.compile(ctx, code)
	}
	m.start(c, err)
}

// start records the compiled module (or why there is none) and starts the
// first instance.
func (m *module) start(c *compiled, err error) {
	var inst *instance
	if err == nil {
		m.mu.Lock()
		m.code = c
		m.mu.Unlock()
		if inst, err = m.newInstance(); err != nil {
			err = fmt.Errorf("its first instance did not start: %w", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case errors.Is(err, ErrBuiltinNotBuilt):
		m.state, m.loadErr = StateNotBuilt, err
	case err != nil:
		m.state, m.loadErr = StateFailed, err
	case m.closed:
		_ = inst.mod.Close(context.Background())
	default:
		m.state, m.total = StateReady, 1
		m.idle <- inst
	}
}

// checkModule refuses a module without ABI v1's exports or with imports
// beyond the inert ones.
func checkModule(cm wazero.CompiledModule) error {
	if err := checkABI(cm); err != nil {
		return err
	}
	return checkImports(cm)
}

// readModuleFile reads a module file and checks its SHA-256.
func readModuleFile(path, wantSHA string) ([]byte, error) {
	if wantSHA == "" {
		return nil, fmt.Errorf("no sha256 given for %s: set the module's sha256 (sha256sum %s)", path, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the module file: %w", err)
	}
	defer f.Close()
	code, err := io.ReadAll(io.LimitReader(f, maxModuleFile+1))
	if err != nil {
		return nil, fmt.Errorf("read the module file %s: %w", path, err)
	}
	if len(code) > maxModuleFile {
		return nil, fmt.Errorf("the module file %s is larger than %d MiB", path, maxModuleFile>>20)
	}
	sum := sha256.Sum256(code)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, wantSHA) {
		return nil, fmt.Errorf("sha256 mismatch: %s has sha256 %s, the settings say %s; "+
			"if the file was replaced on purpose, put its new sha256 in the settings", path, got, strings.ToLower(wantSHA))
	}
	return code, nil
}

// checkABI refuses a module without ABI v1's exports.
func checkABI(cm wazero.CompiledModule) error {
	fns := cm.ExportedFunctions()
	if _, ok := fns["kpiflow_abi_v1"]; !ok {
		return errors.New("it does not export kpiflow_abi_v1, so it is not an ABI v1 optimizer module (see docs/optimizer-modules.md)")
	}
	for name, sig := range abiExports() {
		f, ok := fns[name]
		if !ok {
			return fmt.Errorf("it does not export %s, which ABI v1 requires", name)
		}
		if !slices.Equal(f.ParamTypes(), sig[0]) || !slices.Equal(f.ResultTypes(), sig[1]) {
			return fmt.Errorf("it exports %s as %s; ABI v1 needs %s", name,
				signature(f.ParamTypes(), f.ResultTypes()), signature(sig[0], sig[1]))
		}
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return errors.New("it does not export its memory as \"memory\", which ABI v1 requires")
	}
	return nil
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("(%s) -> (%s)", names(params), names(results))
}

// newInstance starts one instance, bounded by the instantiate timeout and
// ended early by Close.
func (m *module) newInstance() (*instance, error) {
	m.mu.Lock()
	code := m.code
	m.mu.Unlock()
	if code == nil {
		return nil, errors.New("the optimizer host is closed")
	}
	ctx, cancel := context.WithTimeout(m.h.ctx, m.h.cfg.instantiateTimeout)
	defer cancel()
	inst, state, err := m.h.engine.instantiate(ctx, code)
	if err != nil {
		return nil, describeFailure(err, m.h.cfg.instantiateTimeout, state)
	}
	return inst, nil
}

// acquire takes an idle instance or starts one (up to the pool size), and
// waits for one no longer than ctx allows.
func (m *module) acquire(ctx context.Context) (*instance, error) {
	for {
		select {
		case inst := <-m.idle:
			return inst, nil
		default:
		}
		var made chan error
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, errors.New("the optimizer host is closed")
		}
		if m.total < m.h.cfg.poolSize {
			m.total++
			made = make(chan error, 1)
			m.h.wg.Add(1)
			go m.grow(made)
		}
		m.mu.Unlock()
		select {
		case inst := <-m.idle:
			return inst, nil
		case err := <-made:
			if err != nil {
				return nil, fmt.Errorf("start an instance: %w", err)
			}
		case <-ctx.Done():
			return nil, errBusy
		}
	}
}

// grow starts one more instance and puts it in the pool.
func (m *module) grow(made chan<- error) {
	defer m.h.wg.Done()
	inst, err := m.newInstance()
	if err != nil {
		m.mu.Lock()
		m.total--
		m.mu.Unlock()
		made <- err
		return
	}
	m.release(inst)
	made <- nil
}

// release puts a healthy instance back.
func (m *module) release(inst *instance) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		m.total--
		_ = inst.mod.Close(context.Background())
		return
	}
	inst.phase.Store(phaseRunning)
	m.idle <- inst
}

// discard throws an instance away after a trap, exit, timeout or bad answer.
func (m *module) discard(inst *instance) {
	m.mu.Lock()
	m.total--
	m.mu.Unlock()
	_ = inst.mod.Close(context.Background())
}

type callResult struct {
	out []byte
	err error
}

// call runs one optimize call on a pooled instance: deadline from the
// config, and a watchdog that stops waiting (and closes the instance) when
// the module does not stop at the deadline.
func (m *module) call(parent context.Context, req []byte) ([]byte, error) {
	cfg := m.h.cfg
	ctx, cancel := context.WithTimeout(parent, cfg.callTimeout)
	defer cancel()
	inst, err := m.acquire(ctx)
	if err != nil {
		if parent.Err() != nil {
			return nil, errCancelled
		}
		return nil, err
	}
	done := make(chan callResult, 1)
	go func() {
		out, err := inst.run(ctx, req, cfg.maxResponse, cfg.callTimeout)
		if inst.phase.CompareAndSwap(phaseRunning, phaseFinished) && err == nil {
			m.release(inst)
		} else {
			m.discard(inst)
		}
		done <- callResult{out, err}
	}()
	deadline, _ := ctx.Deadline()
	watchdog := time.NewTimer(time.Until(deadline) + cfg.watchdogGrace)
	defer watchdog.Stop()
	select {
	case r := <-done:
		if r.err != nil && parent.Err() != nil {
			return nil, errCancelled
		}
		return r.out, r.err
	case <-watchdog.C:
		if !inst.phase.CompareAndSwap(phaseRunning, phaseAbandoned) {
			r := <-done
			return r.out, r.err
		}
		// The call goroutine discards the instance when the guest stops.
		_ = inst.mod.CloseWithExitCode(context.Background(), exitWatchdog)
		return nil, fmt.Errorf("did not stop at its %s deadline; the watchdog gave up on it %s later",
			cfg.callTimeout, cfg.watchdogGrace)
	}
}

// run passes the request through the instance's memory: alloc, write,
// optimize, read the answer, free both.
func (inst *instance) run(ctx context.Context, req []byte, maxResponse int, timeout time.Duration) ([]byte, error) {
	state := &callState{}
	ctx = context.WithValue(ctx, callStateKey{}, state)
	mem := inst.mod.Memory()
	res, err := inst.alloc.Call(ctx, uint64(len(req)))
	if err != nil {
		return nil, fmt.Errorf("alloc: %w", describeFailure(err, timeout, state))
	}
	ptr := uint32(res[0])
	if ptr == 0 || !mem.Write(ptr, req) {
		return nil, fmt.Errorf("alloc(%d) returned %#x, which is not room for the request in its memory of %d bytes",
			len(req), ptr, mem.Size())
	}
	res, err = inst.optimize.Call(ctx, uint64(ptr), uint64(len(req)))
	if err != nil {
		return nil, describeFailure(err, timeout, state)
	}
	rptr, rlen := uint32(res[0]>>32), uint32(res[0])
	if int64(rlen) > int64(maxResponse) {
		return nil, fmt.Errorf("its answer has %d bytes, more than the %d allowed", rlen, maxResponse)
	}
	view, ok := mem.Read(rptr, rlen)
	if !ok {
		return nil, fmt.Errorf("its answer (%d bytes at %#x) lies outside its memory of %d bytes", rlen, rptr, mem.Size())
	}
	out := bytes.Clone(view)
	for _, f := range [][2]uint32{{rptr, rlen}, {ptr, uint32(len(req))}} {
		if _, err := inst.free.Call(ctx, uint64(f[0]), uint64(f[1])); err != nil {
			return nil, fmt.Errorf("free: %w", describeFailure(err, timeout, state))
		}
	}
	return out, nil
}

// describeFailure says how a call ended, for notices and health.
func describeFailure(err error, timeout time.Duration, state *callState) error {
	var msg string
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		msg = fmt.Sprintf("ran past its %s deadline and was stopped", timeout)
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		msg = "was stopped: the query was cancelled"
	case errors.As(err, &exit) && exit.ExitCode() == exitWatchdog:
		msg = "was stopped by the watchdog"
	case errors.As(err, &exit):
		msg = fmt.Sprintf("exited with code %d", exit.ExitCode())
	default:
		first, _, _ := strings.Cut(err.Error(), "\n")
		msg = "trapped: " + first
	}
	if out := state.lastOutput(); out != "" {
		msg += " (it wrote: " + out + ")"
	}
	return errors.New(msg)
}

// close closes the idle instances (instances in use close when released)
// and lets the engine drop the compiled module if no other host uses it.
func (m *module) close(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.code != nil {
		m.h.engine.release(m.code)
		m.code = nil
	}
	for {
		select {
		case inst := <-m.idle:
			m.total--
			_ = inst.mod.Close(ctx)
		default:
			return
		}
	}
}
