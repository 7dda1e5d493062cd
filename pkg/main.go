// Command gpx_kpiflow is kpiflow's Grafana backend data source. Grafana starts
// it as a plugin process and talks to it over gRPC.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/plugin"
)

func main() {
	opts := datasource.ManageOpts{GRPCSettings: backend.GRPCSettings{
		// Room for bodies well past the ingest limit, so the ingest API's
		// 413 (naming the limit), not gRPC, refuses them (see the constant).
		MaxReceiveMsgSize: ingest.MaxTransportBytes,
	}}
	if err := datasource.Manage(plugin.PluginID, plugin.NewInstance, opts); err != nil {
		log.DefaultLogger.Error("kpiflow data source stopped", "error", err)
		os.Exit(1)
	}
}
