package plugin

import (
	"context"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// registerIngestRoutes registers the resource routes for the ingest API
// (POST ingest/{stream}), open to the Grafana role settings.IngestRole and
// above (Editor by default).
func registerIngestRoutes(mux *http.ServeMux, inst *Instance) {
	h := ingest.Handler{Writer: instanceWriter{inst}, Limits: ingest.DefaultLimits(), Actor: actor}
	mux.Handle("POST /ingest/{stream}", inst.requireIngestRole(h))
	mux.HandleFunc("/ingest/{stream}", methodNotAllowed(http.MethodPost))
}

// instanceWriter hands batches to the instance's Writer, or answers with the
// settings error when the data source is misconfigured. The write gets the
// data source's timeouts.
type instanceWriter struct{ inst *Instance }

func (iw instanceWriter) Write(ctx context.Context, b *ingest.Batch, key, actor string) (ingest.Result, error) {
	w, err := iw.inst.writer()
	if err != nil {
		return ingest.Result{}, err
	}
	s := iw.inst.settings
	ctx, cancel := context.WithTimeout(ctx, s.DialTimeout+2*s.QueryTimeout)
	defer cancel()
	return w.Write(ctx, b, key, actor)
}

// writer returns the instance's ingest Writer, or the settings error.
func (inst *Instance) writer() (*ingest.Writer, error) {
	if _, err := inst.ready(); err != nil {
		return nil, &ingest.InputError{Field: "data source settings", Message: err.Error()}
	}
	return inst.ingest, nil
}

// actor names the caller in the ledger: the Grafana login (a service
// account's login for tokens).
func actor(r *http.Request) string {
	u := backend.UserFromContext(r.Context())
	if u == nil {
		return ""
	}
	if u.Login != "" {
		return u.Login
	}
	return u.Email
}

// requireIngestRole answers 403, naming the role needed, unless the caller's
// Grafana role is settings.IngestRole or higher.
func (inst *Instance) requireIngestRole(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		need := inst.settings.IngestRole
		if need == "" {
			need = settings.DefaultIngestRole
		}
		if requireRole(w, r, need, " (the data source's ingestRole setting)") {
			next.ServeHTTP(w, r)
		}
	})
}
