package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
	"github.com/kpiflow/kpiflow/pkg/upkeep"
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
	ctx, cancel := context.WithTimeout(r.Context(), upkeep.Timeout(inst.settings))
	defer cancel()
	if err := inst.upkeep.Lock(ctx); err != nil {
		inst.writeSchemaError(w, "apply migrations", err, &migrateResponse{Applied: []store.AppliedMigration{}})
		return
	}
	defer inst.upkeep.Unlock()
	res, err := st.Migrate(ctx)
	if res.Applied == nil {
		res.Applied = []store.AppliedMigration{}
	}
	out := migrateResponse{Applied: res.Applied, Version: res.Version}
	if err != nil {
		inst.writeSchemaError(w, "apply migrations", err, &out)
		return
	}
	inst.upkeep.MigratedByHand()
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
