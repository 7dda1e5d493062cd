package plugin

import "net/http"

// registerAdminRoutes registers the resource routes for schema migrations and data-protection erasure (admin/*), ledger verification.
func registerAdminRoutes(mux *http.ServeMux, inst *Instance) {}
