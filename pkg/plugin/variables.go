package plugin

import "net/http"

// registerVariableRoutes registers the resource routes for template variable values (metrics, teams, projects, labels).
func registerVariableRoutes(mux *http.ServeMux, inst *Instance) {}
