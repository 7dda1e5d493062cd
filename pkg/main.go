// Command gpx_kpiflow is kpiflow's Grafana backend data source. Grafana starts
// it as a plugin process and talks to it over gRPC.
package main

import (
	"context"
	"os"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/plugin"
)

func main() {
	// The SDK's logger writes every level as JSON to Grafana, which parses each
	// line and, at its default level, drops the debug ones: two lines per
	// request ("Plugin Request Started" among them), about 0.1 ms of the
	// request floor (docs/benchmarks.md). Debug lines are on request only:
	// Grafana passes a plugin's [plugin.<id>] settings as GF_PLUGIN_<KEY>.
	level := log.Info
	if strings.EqualFold(os.Getenv("GF_PLUGIN_LOG_LEVEL"), "debug") {
		level = log.Debug
	}
	// Repeated warnings and errors (the SDK logs every failed query) are
	// summarised rather than written one line each (plugin.QuietLogger).
	backend.Logger = plugin.QuietLogger(log.NewWithLevel(level))
	log.DefaultLogger = backend.Logger
	opts := datasource.ManageOpts{GRPCSettings: backend.GRPCSettings{
		// Room for bodies well past the ingest limit, so the ingest API's
		// 413 (naming the limit), not gRPC, refuses them (see the constant).
		MaxReceiveMsgSize: ingest.MaxTransportBytes,
	}}
	f, err := plugin.NewFactory(context.Background())
	if err != nil {
		log.DefaultLogger.Error("kpiflow data source could not start", "error", err)
		os.Exit(1)
	}
	// Raw SQL tables go to Grafana as Arrow written from ClickHouse's
	// blocks, not through a data.Frame (plugin.ArrowWire), unless
	// [plugin.kpiflow-clickhouse-datasource] arrow_wire = false.
	if !strings.EqualFold(os.Getenv("GF_PLUGIN_ARROW_WIRE"), "false") {
		_, gogcSet := os.LookupEnv("GOGC")
		f.UseArrowWire(plugin.InstallArrowWire(gogcSet))
	}
	if err := datasource.Manage(plugin.PluginID, f.NewInstance, opts); err != nil {
		log.DefaultLogger.Error("kpiflow data source stopped", "error", err)
		os.Exit(1)
	}
}
