package optimizer

import (
	"encoding/json"
	"slices"
	"time"
)

// Limits and defaults of a Config.
const (
	DefaultCallTimeout        = 50 * time.Millisecond
	DefaultWatchdogGrace      = 50 * time.Millisecond
	DefaultInstantiateTimeout = 2 * time.Second
	DefaultMaxResponse        = 1 << 20
	DefaultMaxRequest         = 4 << 20
	DefaultPoolSize           = 4
	DefaultBreakerThreshold   = 5
	DefaultBreakerCooldown    = 30 * time.Second
	DefaultBreakerMaxCooldown = 10 * time.Minute
	// BuiltinName is the built-in module's name in notices and health.
	BuiltinName = "builtin"
)

// Module is one optimizer module of the chain: its file (Path, checked
// against SHA256) or its bytes (Wasm), and the config JSON it is sent.
//
//	optimizer.Module{Name: "tag", Path: "/var/lib/kpiflow/tag.wasm", SHA256: "3b1f…", Config: json.RawMessage(`{"team":"a"}`)}
type Module struct {
	// Name names the module in notices and health.
	Name string
	// Path is the module file, read once when the host starts.
	Path string
	// SHA256 is the hex SHA-256 of the file at Path; a mismatch keeps the
	// module out of the chain with a health error.
	SHA256 string
	// Wasm is the module's bytes, instead of Path (tests, embedding).
	Wasm []byte
	// Config is sent as the request's "config" (null when empty).
	Config json.RawMessage
}

// Config configures a Host.
//
//	cfg := optimizer.NewConfig().WithModules(mods...).WithEngine(eng)
//	h, err := optimizer.New(ctx, cfg)
//
// # Notes
//
//   - Config is immutable: each With… returns a changed copy, so one base
//     config can be shared. A zero or negative value keeps the default.
//   - Defaults: the built-in module first, 50 ms per call, a watchdog 50 ms after that, 2 s to start an
//     instance, requests up to 4 MiB and responses up to 1 MiB, 4 instances
//     per module, and 5 failures in a row switch a module off for 30 s,
//     doubling up to 10 minutes while it keeps failing.
type Config struct {
	builtin            bool
	modules            []Module
	callTimeout        time.Duration
	watchdogGrace      time.Duration
	instantiateTimeout time.Duration
	maxRequest         int
	maxResponse        int
	poolSize           int
	breakerThreshold   int
	breakerCooldown    time.Duration
	breakerMaxCooldown time.Duration
	engine             *Engine
}

// NewConfig returns the defaults, with the built-in module and no others.
func NewConfig() Config {
	return Config{
		builtin:            true,
		callTimeout:        DefaultCallTimeout,
		watchdogGrace:      DefaultWatchdogGrace,
		instantiateTimeout: DefaultInstantiateTimeout,
		maxRequest:         DefaultMaxRequest,
		maxResponse:        DefaultMaxResponse,
		poolSize:           DefaultPoolSize,
		breakerThreshold:   DefaultBreakerThreshold,
		breakerCooldown:    DefaultBreakerCooldown,
		breakerMaxCooldown: DefaultBreakerMaxCooldown,
	}
}

// WithBuiltin puts the built-in module first in the chain (true, the
// default) or leaves it out.
func (c Config) WithBuiltin(on bool) Config {
	c.builtin = on
	return c
}

// WithModules sets the modules after the built-in one, in chain order.
func (c Config) WithModules(ms ...Module) Config {
	c.modules = make([]Module, len(ms))
	for i, m := range ms {
		m.Wasm = slices.Clone(m.Wasm)
		m.Config = slices.Clone(m.Config)
		c.modules[i] = m
	}
	return c
}

// WithCallTimeout sets the deadline of one call of a module, from asking
// the pool for an instance to its answer.
func (c Config) WithCallTimeout(d time.Duration) Config {
	if d > 0 {
		c.callTimeout = d
	}
	return c
}

// WithWatchdogGrace sets how long after the call deadline the host stops
// waiting for a module that did not stop at it.
func (c Config) WithWatchdogGrace(d time.Duration) Config {
	if d > 0 {
		c.watchdogGrace = d
	}
	return c
}

// WithInstantiateTimeout bounds starting one instance (its _initialize).
func (c Config) WithInstantiateTimeout(d time.Duration) Config {
	if d > 0 {
		c.instantiateTimeout = d
	}
	return c
}

// WithMaxResponse caps a module's response, in bytes.
func (c Config) WithMaxResponse(bytes int) Config {
	if bytes > 0 {
		c.maxResponse = bytes
	}
	return c
}

// WithMaxRequest caps the request a module is sent, in bytes; a larger plan
// skips the modules.
func (c Config) WithMaxRequest(bytes int) Config {
	if bytes > 0 {
		c.maxRequest = bytes
	}
	return c
}

// WithPoolSize sets the most instances of one module at a time.
func (c Config) WithPoolSize(n int) Config {
	if n > 0 {
		c.poolSize = n
	}
	return c
}

// WithBreaker sets how many failures in a row switch a module off, and for
// how long at first and at most (the time doubles while it keeps failing).
func (c Config) WithBreaker(failures int, cooldown, maxCooldown time.Duration) Config {
	if failures > 0 {
		c.breakerThreshold = failures
	}
	if cooldown > 0 {
		c.breakerCooldown = cooldown
	}
	if maxCooldown > 0 {
		c.breakerMaxCooldown = maxCooldown
	}
	return c
}

// WithEngine runs the host's modules on a shared engine, so they compile
// once per process (Engine). Without it the host makes its own engine and
// closes it with itself.
func (c Config) WithEngine(e *Engine) Config {
	c.engine = e
	return c
}
