package optimizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
)

// Host runs the optimizer chain for one data source instance.
//
//	h, err := optimizer.New(ctx, optimizer.NewConfig().WithEngine(eng).WithModules(mods...))
//	defer h.Close(ctx)
//	p, notices := h.Optimize(ctx, p, catalog)
//	health := h.Health()
//
// # Notes
//
//   - New returns at once; modules the engine has not compiled yet compile
//     and start their first instance in the background (Ready waits for
//     that). Until a module is ready, Optimize skips it with a notice.
//   - Optimize is safe for concurrent use. It never fails: whatever a
//     module does, the plan returned is the input or a plan that passed
//     plan.CheckRewriteIn against the catalog.
//   - The catalog's JSON is cached by identity: a Catalog passed to
//     Optimize must not be modified afterwards (build a new one instead).
type Host struct {
	cfg    Config
	engine *Engine
	// ownEngine: New made the engine, and Close closes it.
	ownEngine bool
	ctx       context.Context // ends at Close: stops loads and instantiations
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	modules   []*module
	loaded    chan struct{}

	catMu   sync.Mutex
	catKey  *plan.Table
	catLen  int
	catJSON []byte
}

// New starts a host. A module already compiled by the engine (the built-in
// one, precompiled at start-up) is ready when New returns; the others load
// in the background.
func New(ctx context.Context, cfg Config) (*Host, error) {
	h := &Host{cfg: cfg, engine: cfg.engine, loaded: make(chan struct{})}
	if h.engine == nil {
		e, err := NewEngine(ctx, "")
		if err != nil {
			return nil, err
		}
		h.engine, h.ownEngine = e, true
	}
	h.ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var loading sync.WaitGroup
	add := func(spec Module, origin string, wasm func() ([]byte, error)) {
		m := &module{h: h, name: spec.Name, origin: origin, config: spec.Config, state: StateLoading,
			idle:    make(chan *instance, cfg.poolSize),
			breaker: breaker{threshold: cfg.breakerThreshold, cooldown: cfg.breakerCooldown, maxCooldown: cfg.breakerMaxCooldown}}
		h.modules = append(h.modules, m)
		// Bytes in memory that the engine has compiled: start at once.
		if spec.Path == "" {
			if code, err := wasm(); err == nil {
				if c := h.engine.ready(code); c != nil {
					m.start(c, nil)
					return
				}
			}
		}
		h.wg.Add(1)
		loading.Add(1)
		go func() {
			defer loading.Done()
			m.load(h.ctx, wasm)
		}()
	}
	if cfg.builtin {
		add(Module{Name: BuiltinName}, "built-in", BuiltinWasm)
	}
	for _, spec := range cfg.modules {
		switch {
		case spec.Wasm != nil:
			add(spec, "bytes", func() ([]byte, error) { return spec.Wasm, nil })
		default:
			add(spec, spec.Path, func() ([]byte, error) { return readModuleFile(spec.Path, spec.SHA256) })
		}
	}
	go func() {
		loading.Wait()
		close(h.loaded)
	}()
	return h, nil
}

// Ready waits until every module is loaded or has failed to load.
func (h *Host) Ready(ctx context.Context) error {
	select {
	case <-h.loaded:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("optimizer modules still loading: %w", ctx.Err())
	}
}

// Optimize passes p through the chain and returns the plan to run with a
// notice per module that changed it, left notes, failed or was skipped.
func (h *Host) Optimize(ctx context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, []Notice) {
	var notices []Notice
	for _, m := range h.modules {
		if ctx.Err() != nil {
			break
		}
		var n *Notice
		p, n = m.run(ctx, p, c)
		if n != nil {
			notices = append(notices, *n)
		}
	}
	return p, notices
}

// run runs the module once, unless it cannot run now, and times it.
func (m *module) run(ctx context.Context, p plan.Plan, c plan.Catalog) (plan.Plan, *Notice) {
	start := time.Now()
	n, skip := m.skip()
	if !skip {
		catalog, err := m.h.catalogJSON(c)
		if err != nil {
			n = &Notice{Module: m.name, Kind: NoticeFailed, Reason: err.Error()}
		} else {
			p, n = m.optimize(ctx, p, c, catalog)
		}
	}
	if n != nil {
		n.Took = time.Since(start)
	}
	return p, n
}

// skip returns a notice when the module cannot run now.
func (m *module) skip() (*Notice, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := &Notice{Module: m.name, Kind: NoticeSkipped}
	switch m.state {
	case StateLoading:
		n.Reason = "it is still loading (compiling in the background)"
	case StateNotBuilt:
		n.Reason = m.loadErr.Error()
	case StateFailed:
		n.Kind, n.Reason = NoticeFailed, "it could not be loaded: "+m.loadErr.Error()
	default:
		ok, until := m.breaker.allow(time.Now())
		if ok {
			return nil, false
		}
		n.Reason = fmt.Sprintf("it is switched off until %s after %d failures in a row (last: %s)",
			until.UTC().Format("15:04:05 MST"), m.breaker.inARow, m.lastFail)
	}
	return n, true
}

// optimize runs the module once and checks its answer.
func (m *module) optimize(ctx context.Context, p plan.Plan, c plan.Catalog, catalog []byte) (plan.Plan, *Notice) {
	n := &Notice{Module: m.name, Kind: NoticeFailed}
	req, err := request(&p, catalog, m.config)
	if err != nil {
		n.Reason = err.Error()
		return p, n
	}
	if len(req) > m.h.cfg.maxRequest {
		n.Kind, n.Reason = NoticeSkipped, fmt.Sprintf("the request has %d bytes, more than the %d allowed", len(req), m.h.cfg.maxRequest)
		return p, n
	}
	out, err := m.call(ctx, req)
	switch {
	case errors.Is(err, errCancelled):
		return p, nil
	case errors.Is(err, errBusy):
		n.Kind, n.Reason = NoticeSkipped, fmt.Sprintf("all %d of its instances were busy for the call's %s", m.h.cfg.poolSize, m.h.cfg.callTimeout)
		return p, n
	}
	var resp response
	if err == nil {
		resp, err = decodeResponse(out)
	}
	if err == nil && resp.Error != "" {
		// The module worked and said it could not help: not a fault.
		m.record(false, "")
		n.Reason = "it answered an error: " + resp.Error
		return p, n
	}
	if err == nil && resp.Plan != nil {
		if cerr := plan.CheckRewriteIn(c, &p, resp.Plan); cerr != nil {
			err = fmt.Errorf("its plan was rejected: %w", cerr)
		}
	}
	if err != nil {
		m.record(true, err.Error())
		n.Reason = err.Error()
		return p, n
	}
	n.Kind, n.Notes = NoticeNoted, resp.Notes
	if resp.Plan != nil {
		if n.Changes = describeChanges(&p, resp.Plan, ""); len(n.Changes) > 0 {
			n.Kind = NoticeChanged
			p = *resp.Plan
		}
	}
	m.record(false, "")
	if n.Kind == NoticeNoted && len(n.Notes) == 0 {
		return p, nil
	}
	if n.Kind == NoticeChanged {
		m.mu.Lock()
		m.changed++
		m.mu.Unlock()
	}
	return p, n
}

// record counts a call's outcome and feeds the breaker.
func (m *module) record(failed bool, why string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if !failed {
		m.breaker.success()
		return
	}
	m.failures++
	m.lastFail = why
	m.breaker.failure(time.Now())
}

// catalogJSON encodes the catalog, reusing the last encoding for the same
// catalog (Host's notes).
func (h *Host) catalogJSON(c plan.Catalog) ([]byte, error) {
	h.catMu.Lock()
	defer h.catMu.Unlock()
	var key *plan.Table
	if len(c.Tables) > 0 {
		key = &c.Tables[0]
	}
	if key != nil && key == h.catKey && len(c.Tables) == h.catLen {
		return h.catJSON, nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode the catalog: %w", err)
	}
	h.catKey, h.catLen, h.catJSON = key, len(c.Tables), b
	return b, nil
}

// ModuleHealth is one module's state for the health check.
type ModuleHealth struct {
	Name string `json:"name"`
	// Origin is "built-in" or the module file's path.
	Origin string `json:"origin"`
	// State is StateLoading, StateReady, StateOff, StateFailed or
	// StateNotBuilt.
	State string `json:"state"`
	// Error is why a module failed to load or is not built.
	Error string `json:"error,omitempty"`
	// OffUntil is when a switched-off module may run again.
	OffUntil    time.Time `json:"offUntil,omitzero"`
	Calls       uint64    `json:"calls"`
	Changed     uint64    `json:"changed"`
	Failures    uint64    `json:"failures"`
	LastFailure string    `json:"lastFailure,omitempty"`
	Instances   int       `json:"instances"`
}

// Health reports every module of the chain, in order.
func (h *Host) Health() []ModuleHealth {
	out := make([]ModuleHealth, len(h.modules))
	now := time.Now()
	for i, m := range h.modules {
		m.mu.Lock()
		mh := ModuleHealth{Name: m.name, Origin: m.origin, State: m.state, Calls: m.calls, Changed: m.changed,
			Failures: m.failures, LastFailure: m.lastFail, Instances: m.total}
		if m.loadErr != nil {
			mh.Error = m.loadErr.Error()
		}
		if ok, until := m.breaker.allow(now); !ok && m.state == StateReady {
			mh.State, mh.OffUntil = StateOff, until
		}
		m.mu.Unlock()
		out[i] = mh
	}
	return out
}

// Close stops background loading, closes every instance (and the engine,
// when New made it). Calls under way end with their module skipped. It waits for loads and
// instance starts under way until ctx ends (a module file on a hung
// network share must not hold the data source's disposal); those that
// finish later find the runtime closed.
func (h *Host) Close(ctx context.Context) error {
	h.cancel()
	for _, m := range h.modules {
		m.close(ctx)
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	default:
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("optimizer modules still loading when closed: %w", ctx.Err())
		}
	}
	if h.ownEngine {
		err = errors.Join(err, h.engine.Close(context.WithoutCancel(ctx)))
	}
	return err
}
