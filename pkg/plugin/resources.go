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
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no resource "+r.URL.Path)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
