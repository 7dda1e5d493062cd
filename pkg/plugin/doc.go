// Package plugin wires kpiflow's packages into a Grafana backend data source.
//
// One Instance exists per data source configuration (the SDK's instance
// manager creates it and calls Dispose when the settings change). It owns the
// ClickHouse pool and routes Grafana's calls: CheckHealth (health.go),
// QueryData by queryType (query.go) and CallResource (resources.go).
//
// Only this package and pkg/main.go import the SDK's datasource,
// instancemgmt and httpadapter packages; everything below it is SDK-free or
// uses only data frames.
package plugin
