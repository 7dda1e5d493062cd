package plugin

import (
	"encoding/json"
	"net/http"
)

// newResourceMux routes the resource endpoints reached through Grafana at
// /api/datasources/uid/<uid>/resources/<path>. Each area registers its own
// routes in its own file.
func newResourceMux(inst *Instance) http.Handler {
	mux := http.NewServeMux()
	registerAdminRoutes(mux, inst)
	registerIngestRoutes(mux, inst)
	registerLedgerRoutes(mux, inst)
	registerVariableRoutes(mux, inst)
	registerArrowRoutes(mux, inst)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no resource "+r.URL.Path)
	})
	return withBody(mux)
}

// withBody gives every request a Body: the SDK's httpadapter builds the
// request like a client's, leaving Body nil when Grafana sent none, and
// handlers (like net/http's server) rely on it never being nil.
func withBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil {
			r.Body = http.NoBody
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
