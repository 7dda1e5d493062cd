// Command gpx_kpiflow is kpiflow's Grafana backend data source. Grafana starts
// it as a plugin process and talks to it over gRPC.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/kpiflow/kpiflow/pkg/plugin"
)

func main() {
	if err := datasource.Manage(plugin.PluginID, plugin.NewInstance, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("kpiflow data source stopped", "error", err)
		os.Exit(1)
	}
}
