package plugin

import (
	"fmt"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// registerVariableRoutes registers the resource routes for template variable
// values (metrics, teams, projects, services, environments, labels). Each
// answers a JSON array of at most store.MaxValues distinct non-empty
// strings, sorted; the frontend's metricFindQuery and the query editor's
// pickers read them.
func registerVariableRoutes(mux *http.ServeMux, inst *Instance) {
	routes := map[string]store.ValueList{
		"GET /metrics": store.ListMetrics, "GET /teams": store.ListTeams, "GET /projects": store.ListProjects,
		"GET /services": store.ListServices, "GET /environments": store.ListEnvironments,
		"GET /labels/keys": store.ListLabelKeys, "GET /labels/values": store.ListLabelValues,
	}
	for pattern, list := range routes {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			key := ""
			if list == store.ListLabelValues {
				key = r.URL.Query().Get("key")
				if key == "" {
					writeJSONError(w, http.StatusBadRequest, "key: required; the label key whose values to list")
					return
				}
				if !query.ValidLabelKey(key) {
					writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("key: expected a label key of letters, digits, _ . - / (at most 128), got %q", key))
					return
				}
			}
			inst.serveValues(w, r, list, key)
		})
	}
}

// serveValues answers one value list, read through store.Query: attributed,
// read-only, the Query timeout as max_execution_time, killed on the server
// if the caller goes away.
func (inst *Instance) serveValues(w http.ResponseWriter, r *http.Request, list store.ValueList, key string) {
	st, err := inst.ready()
	if err != nil {
		writeJSONError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	ctx := r.Context()
	values, err := st.Values(ctx, attributionFor(ctx, backend.PluginConfigFromContext(ctx)), list, key)
	if err != nil {
		writeJSONError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, values)
}
