package plugin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/live"
	"github.com/kpiflow/kpiflow/pkg/optimizer"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
	"github.com/kpiflow/kpiflow/pkg/upkeep"
)

// PluginID is the data source's id in plugin.json.
const PluginID = "kpiflow-clickhouse-datasource"

// Instance is one configured kpiflow data source.
type Instance struct {
	settings settings.Settings
	// settingsErr is set when the settings do not validate. The instance then
	// still exists, so the health check and every query can show the message
	// naming the bad field instead of Grafana's generic plugin error.
	settingsErr error
	store       *store.Store
	queries     *datasource.QueryTypeMux
	resources   backend.CallResourceHandler
	logger      log.Logger
	// upkeep runs automatic migration and retention in the background.
	upkeep *upkeep.Jobs
	// ingest writes ingest batches, serialised per stream (ingest.go, ledger.go).
	ingest *ingest.Writer
	// pipeline plans builder queries: the rewrite chain between a query's
	// plan and its SQL (query_builder.go), which is the optimizer's modules
	// (optimizer.go).
	pipeline  query.Pipeline
	optimizer *optimizer.Host
	// catalog is query.Catalog, built once: queries narrow it to the
	// server's tables (query.Narrow, through catalogs) instead of rebuilding it.
	catalog  plan.Catalog
	catalogs catalogs
	// uid is the data source's uid (live channels are ds/<uid>/live/...).
	uid string
	// hub holds the live channels (stream.go); ingest wakes it.
	hub *live.Hub
	// wire sends large QueryData frames as Arrow written from the blocks
	// (arrowwire.go); nil: every frame goes through the SDK.
	wire *ArrowWire
}

var (
	_ backend.QueryDataHandler      = (*Instance)(nil)
	_ backend.CheckHealthHandler    = (*Instance)(nil)
	_ backend.CallResourceHandler   = (*Instance)(nil)
	_ instancemgmt.InstanceDisposer = (*Instance)(nil)
)

// Factory makes the data source's instances. It holds what the plugin
// process shares between them: the optimizer engine, which compiles each
// optimizer module once per process.
type Factory struct {
	engine *optimizer.Engine
	wire   *ArrowWire
}

// UseArrowWire has the instances answer large QueryData results through w
// (InstallArrowWire).
func (f *Factory) UseArrowWire(w *ArrowWire) { f.wire = w }

// NewFactory starts the optimizer engine and compiles the built-in module
// in the background, so instances find it ready. Compiled modules are kept
// in optimizer.DefaultCacheDir for the next process; without a usable cache
// directory they compile in memory only (a warning says why).
func NewFactory(ctx context.Context) (*Factory, error) {
	eng, err := optimizer.NewEngine(ctx, optimizer.DefaultCacheDir())
	if err != nil {
		backend.Logger.Warn("optimizer modules compile without a disk cache", "error", err)
		if eng, err = optimizer.NewEngine(ctx, ""); err != nil {
			return nil, err
		}
	}
	eng.Precompile(optimizer.BuiltinWasm)
	return &Factory{engine: eng}, nil
}

// NewInstance is the SDK's instance factory: it parses the settings, opens
// the pool (without connecting) and starts the optimizer host.
func (f *Factory) NewInstance(ctx context.Context, ds backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	inst := &Instance{logger: backend.Logger.With("datasource", ds.UID), upkeep: upkeep.New(), uid: ds.UID,
		catalog: query.Catalog(), wire: f.wire}
	s, err := settings.Parse(ds.JSONData, ds.DecryptedSecureJSONData)
	if err != nil {
		inst.settingsErr = err
	} else {
		inst.settings = s
		st, err := store.Open(ctx, s, store.WithLogger(inst.logger))
		if err != nil {
			inst.settingsErr = err
		} else {
			inst.store = st
			inst.hub = live.NewHub(liveSource{inst}, live.DefaultConfig(), inst.logger)
			inst.ingest = ingest.NewWriter(st, inst.hub)
		}
		if inst.optimizer, err = newOptimizer(ctx, f.engine, s); err != nil {
			inst.settingsErr = err
		} else {
			inst.pipeline = pipelineFor(inst.optimizer)
		}
	}
	inst.queries = newQueryMux(inst)
	inst.resources = httpadapter.New(newResourceMux(inst))
	// Bounded: a slow server never holds up the instance.
	if inst.store != nil {
		inst.upkeep.Start(inst.store, inst.settings, inst.logger)
	}
	return inst, nil
}

// Dispose closes the pool and the optimizer host; the SDK calls it when the
// settings change.
func (inst *Instance) Dispose() {
	inst.upkeep.Stop()
	if inst.hub != nil {
		inst.hub.Close()
	}
	if inst.optimizer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := inst.optimizer.Close(ctx); err != nil {
			inst.logger.Warn("closing the query optimizer", "error", err)
		}
		cancel()
	}
	if inst.store == nil {
		return
	}
	if err := inst.store.Close(); err != nil {
		inst.logger.Warn("closing ClickHouse pool", "error", err)
	}
}

// ready returns the store, or the settings error as a downstream error: the
// fix is in the data source's configuration, not in kpiflow.
func (inst *Instance) ready() (*store.Store, error) {
	if inst.settingsErr != nil {
		return nil, backend.DownstreamError(fmt.Errorf("the data source is not configured correctly: %w", inst.settingsErr))
	}
	return inst.store, nil
}

// CallResource serves the resource endpoints (resources.go).
func (inst *Instance) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return inst.resources.CallResource(ctx, req, sender)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
