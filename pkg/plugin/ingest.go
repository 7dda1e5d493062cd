package plugin

import "net/http"

// registerIngestRoutes registers the resource routes for the ingest API (ingest/*).
func registerIngestRoutes(mux *http.ServeMux, inst *Instance) {}
