package plugin

import "github.com/grafana/grafana-plugin-sdk-go/backend/datasource"

// registerBuilderQueries registers the builder query types (kpi, dora,
// taskflow; forecast comes with its issue).
func registerBuilderQueries(mux *datasource.QueryTypeMux, inst *Instance) {}
