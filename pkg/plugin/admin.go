package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// registerAdminRoutes registers the resource routes for schema migrations
// (admin/migrate, admin/schema). admin/erase lives with ingest.
func registerAdminRoutes(mux *http.ServeMux, inst *Instance) {
	mux.HandleFunc("POST /admin/migrate", inst.handleMigrate)
	mux.HandleFunc("GET /admin/schema", inst.handleSchema)
	// Without these, another method would fall through to the 404 route.
	mux.HandleFunc("/admin/migrate", methodNotAllowed(http.MethodPost))
	mux.HandleFunc("/admin/schema", methodNotAllowed(http.MethodGet))
}

func methodNotAllowed(allowed string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		writeJSONError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, allowed))
	}
}

// How long schema work may take. Automatic migration runs in the background
// so that a slow or unreachable server never holds up the instance; creating
// the instance waits autoMigrateWait for it, so the first query usually finds
// the schema in place.
const (
	autoMigrateWait     = 5 * time.Second
	autoMigrateRetry    = 10 * time.Second
	autoMigrateMaxRetry = 5 * time.Minute
	retentionInterval   = time.Hour
)

// schemaTimeout bounds one Migrate or ApplyRetention run: a dozen DDL
// statements, each within the query timeout, plus connecting.
func schemaTimeout(s settings.Settings) time.Duration {
	return s.DialTimeout + 2*s.QueryTimeout
}

// schemaJobs is an instance's schema work: automatic migration at start,
// periodic retention, and the lock that keeps the admin endpoint and those
// from running DDL at the same time.
type schemaJobs struct {
	// run serialises Migrate and ApplyRetention within the instance: a
	// one-slot semaphore, so a waiting request gives up with its context.
	run chan struct{}

	mu           sync.Mutex
	autoRunning  bool
	autoErr      error
	retentionErr error

	cancel context.CancelFunc
	done   chan struct{}
}

func newSchemaJobs() *schemaJobs {
	return &schemaJobs{run: make(chan struct{}, 1), cancel: func() {}, done: closedChan()}
}

// lock takes the run slot, or fails when ctx ends first.
func (j *schemaJobs) lock(ctx context.Context) error {
	select {
	case j.run <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for other schema work (automatic migration or retention) to finish: %w", ctx.Err())
	}
}

func (j *schemaJobs) unlock() { <-j.run }

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// startSchemaJobs starts automatic migration (settings.AutoMigrate) and the
// retention loop (settings.RetentionDays) in the background. Failures are
// logged and reported by the health check; they never fail the instance.
func (inst *Instance) startSchemaJobs() {
	st, err := inst.ready()
	if err != nil || st == nil || (!inst.settings.AutoMigrate && len(inst.settings.RetentionDays) == 0) {
		return
	}
	j := inst.schema
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel, j.done = cancel, make(chan struct{})
	migrated := make(chan struct{})
	if inst.settings.AutoMigrate {
		j.mu.Lock()
		j.autoRunning = true
		j.mu.Unlock()
	}
	go inst.runSchemaJobs(ctx, st, migrated)
	select {
	case <-migrated:
	case <-time.After(autoMigrateWait):
		inst.logger.Info("automatic migration continues in the background")
	}
}

// runSchemaJobs is the background loop: automatic migration until it
// succeeds (retrying with backoff, as ClickHouse may start after Grafana),
// and retention every retentionInterval. migrated is closed after the first
// migration attempt.
func (inst *Instance) runSchemaJobs(ctx context.Context, st *store.Store, migrated chan struct{}) {
	defer close(inst.schema.done)
	migrateDue := inst.settings.AutoMigrate
	retention := len(inst.settings.RetentionDays) > 0
	backoff := autoMigrateRetry
	var retentionDue time.Time // zero: at once
	for attempt := 0; ; attempt++ {
		if migrateDue && inst.autoMigrate(ctx, st) {
			migrateDue = false
		}
		if attempt == 0 {
			close(migrated)
		}
		if retention && !time.Now().Before(retentionDue) {
			inst.applyRetention(ctx, st)
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

// autoMigrate runs one automatic migration attempt and reports success.
func (inst *Instance) autoMigrate(ctx context.Context, st *store.Store) bool {
	j := inst.schema
	ctx, cancel := context.WithTimeout(ctx, schemaTimeout(inst.settings))
	defer cancel()
	var res store.MigrateResult
	err := j.lock(ctx)
	if err == nil {
		res, err = st.Migrate(ctx)
		j.unlock()
	}
	j.mu.Lock()
	j.autoRunning, j.autoErr = false, err
	j.mu.Unlock()
	if err != nil {
		inst.logger.Error("automatic schema migration failed; retrying in the background", "error", err, "version", res.Version)
		return false
	}
	inst.logger.Info("automatic schema migration done", "applied", len(res.Applied), "version", res.Version)
	return true
}

func (inst *Instance) applyRetention(ctx context.Context, st *store.Store) {
	j := inst.schema
	ctx, cancel := context.WithTimeout(ctx, schemaTimeout(inst.settings))
	defer cancel()
	var actions []store.RetentionAction
	err := j.lock(ctx)
	if err == nil {
		actions, err = st.ApplyRetention(ctx, time.Now())
		j.unlock()
	}
	j.mu.Lock()
	j.retentionErr = err
	j.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		inst.logger.Error("applying retention failed", "error", err)
	}
	for _, a := range actions {
		inst.logger.Info("retention applied", "table", a.Table, "method", a.Method, "statement", a.Statement)
	}
}

// stop ends the background work, waiting a little for a running statement
// to notice the cancellation.
func (j *schemaJobs) stop() {
	j.cancel()
	select {
	case <-j.done:
	case <-time.After(5 * time.Second):
	}
}

// healthNote is a sentence about automatic migration and retention for the
// health check, and whether it is a failure. A failed automatic migration is
// not mentioned once the schema is ready (someone migrated by hand, or a
// retry is about to notice).
func (j *schemaJobs) healthNote(schemaReady bool) (string, bool) {
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

// requireAdmin answers 403 unless the caller's Grafana role is Admin.
func requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	return requireRole(w, r, settings.RoleAdmin, "")
}

// schemaStore checks the caller and the configuration, answering the request
// itself when either is wrong.
func (inst *Instance) schemaStore(w http.ResponseWriter, r *http.Request) (*store.Store, bool) {
	if !requireAdmin(w, r) {
		return nil, false
	}
	st, err := inst.ready()
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return st, true
}

// migrateResponse is POST admin/migrate's answer.
type migrateResponse struct {
	Applied   []store.AppliedMigration `json:"applied"`
	Version   int                      `json:"version"`
	Retention []store.RetentionAction  `json:"retention,omitempty"`
	Error     string                   `json:"error,omitempty"`
}

// handleMigrate applies pending migrations, then the configured retention
// (so changed retention settings take effect at once).
func (inst *Instance) handleMigrate(w http.ResponseWriter, r *http.Request) {
	st, ok := inst.schemaStore(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), schemaTimeout(inst.settings))
	defer cancel()
	if err := inst.schema.lock(ctx); err != nil {
		inst.writeSchemaError(w, "apply migrations", err, &migrateResponse{Applied: []store.AppliedMigration{}})
		return
	}
	defer inst.schema.unlock()
	res, err := st.Migrate(ctx)
	if res.Applied == nil {
		res.Applied = []store.AppliedMigration{}
	}
	out := migrateResponse{Applied: res.Applied, Version: res.Version}
	if err != nil {
		inst.writeSchemaError(w, "apply migrations", err, &out)
		return
	}
	// A manual migration supersedes a failed automatic one.
	inst.schema.mu.Lock()
	inst.schema.autoErr = nil
	inst.schema.mu.Unlock()
	out.Retention, err = st.ApplyRetention(ctx, time.Now())
	if err != nil {
		inst.writeSchemaError(w, "apply retention", err, &out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handleSchema reports the schema: version, state, tables with engines and
// row counts, migrations, pending DDL and retention.
func (inst *Instance) handleSchema(w http.ResponseWriter, r *http.Request) {
	st, ok := inst.schemaStore(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), inst.settings.DialTimeout+inst.settings.QueryTimeout)
	defer cancel()
	rep, err := st.SchemaReport(ctx)
	if err != nil {
		inst.writeSchemaError(w, "read the schema", err, nil)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// writeSchemaError answers a ClickHouse failure: 503 with Retry-After when
// the server cannot be reached in time (try again later), 400 when the fix is
// in the configuration, the ClickHouse user's rights or the statement the
// server refused. partial, when not nil, carries what was done before.
func (inst *Instance) writeSchemaError(w http.ResponseWriter, doing string, err error, partial *migrateResponse) {
	err = store.Classify(inst.settings, err)
	status := http.StatusBadRequest
	msg := fmt.Sprintf("could not %s: %v", doing, err)
	var ce *store.ConnError
	switch {
	case errors.As(err, &ce) && (ce.Category == store.CategoryUnreachable || ce.Category == store.CategoryTimeout):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "30")
	case store.IsReadonly(err):
		msg = fmt.Sprintf("could not %s: the ClickHouse user %q may not change the schema (readonly). Use a user with DDL rights for this data source, or run POST admin/migrate with one: %v",
			doing, inst.settings.Username, err)
	}
	inst.logger.Warn("schema request failed", "doing", doing, "error", err)
	if partial == nil {
		writeJSONError(w, status, msg)
		return
	}
	partial.Error = msg
	writeJSON(w, status, partial)
}
