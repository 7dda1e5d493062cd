package plugin

import (
	"fmt"
	"net/http"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// maxVariableValues bounds every variable list.
const maxVariableValues = 1000

// registerVariableRoutes registers the resource routes for template variable
// values (metrics, teams, projects, services, environments, labels). Each
// answers a JSON array of at most 1000 distinct non-empty strings, sorted; the
// frontend's metricFindQuery and the query editor's pickers read them.
func registerVariableRoutes(mux *http.ServeMux, inst *Instance) {
	list := func(what, sql string, args func(r *http.Request) ([]any, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var a []any
			if args != nil {
				var err error
				if a, err = args(r); err != nil {
					writeJSONError(w, http.StatusBadRequest, err.Error())
					return
				}
			}
			inst.serveVariable(w, r, what, sql, a)
		}
	}
	limit := fmt.Sprintf(" LIMIT %d", maxVariableValues)
	mux.HandleFunc("GET /metrics", list("metrics",
		"SELECT DISTINCT metric AS v FROM kpi_rollup_1d WHERE v != '' ORDER BY v"+limit, nil))
	mux.HandleFunc("GET /teams", list("teams",
		"SELECT DISTINCT v FROM (SELECT team AS v FROM teams UNION ALL SELECT team AS v FROM kpi_rollup_1d "+
			"UNION ALL SELECT team AS v FROM tasks_current UNION ALL SELECT team AS v FROM deployments) WHERE v != '' ORDER BY v"+limit, nil))
	mux.HandleFunc("GET /projects", list("projects",
		"SELECT DISTINCT v FROM (SELECT project AS v FROM kpi_rollup_1d UNION ALL SELECT project AS v FROM tasks_current) "+
			"WHERE v != '' ORDER BY v"+limit, nil))
	mux.HandleFunc("GET /services", list("services",
		"SELECT DISTINCT v FROM (SELECT service AS v FROM kpi_rollup_1d UNION ALL SELECT service AS v FROM deployments "+
			"UNION ALL SELECT service AS v FROM incidents) WHERE v != '' ORDER BY v"+limit, nil))
	mux.HandleFunc("GET /environments", list("environments",
		"SELECT DISTINCT v FROM (SELECT environment AS v FROM kpi_rollup_1d UNION ALL SELECT environment AS v FROM deployments) "+
			"WHERE v != '' ORDER BY v"+limit, nil))
	mux.HandleFunc("GET /labels/keys", list("label keys",
		"SELECT DISTINCT arrayJoin(label_keys) AS v FROM kpi_samples ORDER BY v"+limit, nil))
	mux.HandleFunc("GET /labels/values", list("label values",
		"SELECT DISTINCT label_values[indexOf(label_keys, ?)] AS v FROM kpi_samples WHERE has(label_keys, ?) AND v != '' ORDER BY v"+limit,
		func(r *http.Request) ([]any, error) {
			key := r.URL.Query().Get("key")
			if key == "" {
				return nil, fmt.Errorf("key: required; the label key whose values to list")
			}
			if !query.ValidLabelKey(key) {
				return nil, fmt.Errorf("key: expected a label key of letters, digits, _ . - / (at most 128), got %q", key)
			}
			return []any{key, key}, nil
		}))
}

func (inst *Instance) serveVariable(w http.ResponseWriter, r *http.Request, what, sql string, args []any) {
	st, err := inst.ready()
	if err != nil {
		writeJSONError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	// startQuery (attribution.go): attributed, read-only, the Query timeout
	// as max_execution_time, killed on the server if the caller goes away.
	rq, err := inst.startQuery(r.Context(), st, backend.PluginConfigFromContext(r.Context()), true, sql, args...)
	if err != nil {
		writeJSONError(w, http.StatusBadGateway, fmt.Sprintf("list %s: %v", what, store.Classify(inst.settings, err)))
		return
	}
	values, err := readStrings(rq.Rows)
	rq.Close(err == nil)
	if err != nil {
		writeJSONError(w, http.StatusBadGateway, fmt.Sprintf("list %s: %v", what, store.Classify(inst.settings, err)))
		return
	}
	writeJSON(w, http.StatusOK, values)
}

func readStrings(rows driver.Rows) ([]string, error) {
	values := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	return values, rows.Err()
}
