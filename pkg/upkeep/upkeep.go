package upkeep

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// How long schema work may take. Automatic migration runs in the background
// so that a slow or unreachable server never holds up the data source; Start
// waits autoMigrateWait for it, so the first query usually finds the schema
// in place.
const (
	autoMigrateWait     = 5 * time.Second
	autoMigrateRetry    = 10 * time.Second
	autoMigrateMaxRetry = 5 * time.Minute
	retentionInterval   = time.Hour
)

// Timeout bounds one Migrate or ApplyRetention run: a dozen DDL statements,
// each within the query timeout, plus connecting.
func Timeout(s settings.Settings) time.Duration {
	return s.DialTimeout + 2*s.QueryTimeout
}

// Store is the schema work upkeep runs; *store.Store does it.
type Store interface {
	Migrate(ctx context.Context) (store.MigrateResult, error)
	ApplyRetention(ctx context.Context, now time.Time) ([]store.RetentionAction, error)
}

// Logger takes what the jobs did; the SDK's log.Logger is one.
type Logger interface {
	Info(msg string, args ...any)
	Error(msg string, args ...any)
}

// Jobs is one data source's schema work: automatic migration at start,
// periodic retention, and the lock that serialises them with the admin
// endpoints.
type Jobs struct {
	// run serialises Migrate and ApplyRetention within the data source: a
	// one-slot semaphore, so a waiting request gives up with its context.
	run chan struct{}

	mu           sync.Mutex
	autoRunning  bool
	autoErr      error
	retentionErr error

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns Jobs that are not started: Lock works, HealthNote says nothing.
func New() *Jobs {
	done := make(chan struct{})
	close(done)
	return &Jobs{run: make(chan struct{}, 1), cancel: func() {}, done: done}
}

// Lock takes the run slot, or fails when ctx ends first.
func (j *Jobs) Lock(ctx context.Context) error {
	select {
	case j.run <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for other schema work (automatic migration or retention) to finish: %w", ctx.Err())
	}
}

// Unlock gives the run slot back.
func (j *Jobs) Unlock() { <-j.run }

// Start starts automatic migration (s.AutoMigrate) and the retention loop
// (s.RetentionDays) in the background, and waits up to 5 s for the first
// migration attempt. It does nothing when the settings ask for neither.
func (j *Jobs) Start(st Store, s settings.Settings, log Logger) {
	if !s.AutoMigrate && len(s.RetentionDays) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel, j.done = cancel, make(chan struct{})
	migrated := make(chan struct{})
	if s.AutoMigrate {
		j.mu.Lock()
		j.autoRunning = true
		j.mu.Unlock()
	}
	w := worker{j: j, st: st, s: s, log: log}
	go w.loop(ctx, migrated)
	select {
	case <-migrated:
	case <-time.After(autoMigrateWait):
		log.Info("automatic migration continues in the background")
	}
}

// Stop ends the background work, waiting a little for a running statement
// to notice the cancellation.
func (j *Jobs) Stop() {
	j.cancel()
	select {
	case <-j.done:
	case <-time.After(5 * time.Second):
	}
}

// MigratedByHand records a migration run through the admin endpoint: it
// supersedes a failed automatic one.
func (j *Jobs) MigratedByHand() {
	j.mu.Lock()
	j.autoErr = nil
	j.mu.Unlock()
}

// HealthNote is a sentence about automatic migration and retention for the
// health check, and whether it is a failure. A failed automatic migration is
// not mentioned once the schema is ready (someone migrated by hand, or a
// retry is about to notice).
func (j *Jobs) HealthNote(schemaReady bool) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.autoRunning:
		return "Automatic migration is running.", false
	case j.autoErr != nil && !schemaReady:
		return fmt.Sprintf("Automatic migration failed (retrying in the background): %v.", j.autoErr), true
	case j.retentionErr != nil:
		return fmt.Sprintf("Applying retention failed: %v.", j.retentionErr), true
	}
	return "", false
}

// worker runs the background loop of one Start.
type worker struct {
	j   *Jobs
	st  Store
	s   settings.Settings
	log Logger
}

// loop is the background loop: automatic migration until it succeeds
// (retrying with backoff), and retention every retentionInterval. migrated
// is closed after the first migration attempt.
func (w worker) loop(ctx context.Context, migrated chan struct{}) {
	defer close(w.j.done)
	migrateDue := w.s.AutoMigrate
	retention := len(w.s.RetentionDays) > 0
	backoff := autoMigrateRetry
	var retentionDue time.Time // zero: at once
	for attempt := 0; ; attempt++ {
		if migrateDue && w.migrate(ctx) {
			migrateDue = false
		}
		if attempt == 0 {
			close(migrated)
		}
		if retention && !time.Now().Before(retentionDue) {
			w.retention(ctx)
			retentionDue = time.Now().Add(retentionInterval)
		}
		var wait time.Duration
		switch {
		case migrateDue && retention:
			wait = min(backoff, time.Until(retentionDue))
		case migrateDue:
			wait = backoff
		case retention:
			wait = time.Until(retentionDue)
		default:
			return
		}
		if migrateDue {
			backoff = min(2*backoff, autoMigrateMaxRetry)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// migrate runs one automatic migration attempt and reports success.
func (w worker) migrate(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, Timeout(w.s))
	defer cancel()
	var res store.MigrateResult
	err := w.j.Lock(ctx)
	if err == nil {
		res, err = w.st.Migrate(ctx)
		w.j.Unlock()
	}
	w.j.mu.Lock()
	w.j.autoRunning, w.j.autoErr = false, err
	w.j.mu.Unlock()
	if err != nil {
		w.log.Error("automatic schema migration failed; retrying in the background", "error", err, "version", res.Version)
		return false
	}
	w.log.Info("automatic schema migration done", "applied", len(res.Applied), "version", res.Version)
	return true
}

func (w worker) retention(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, Timeout(w.s))
	defer cancel()
	var actions []store.RetentionAction
	err := w.j.Lock(ctx)
	if err == nil {
		actions, err = w.st.ApplyRetention(ctx, time.Now())
		w.j.Unlock()
	}
	w.j.mu.Lock()
	w.j.retentionErr = err
	w.j.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		w.log.Error("applying retention failed", "error", err)
	}
	for _, a := range actions {
		w.log.Info("retention applied", "table", a.Table, "method", a.Method, "statement", a.Statement)
	}
}
