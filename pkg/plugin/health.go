package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/kpiflow/kpiflow/pkg/optimizer"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// healthDetails is CheckHealth's JSONDetails, for the config page and for
// provisioning checks that read the API response.
type healthDetails struct {
	Category      string `json:"category,omitempty"`
	ServerVersion string `json:"serverVersion,omitempty"`
	Database      string `json:"database,omitempty"`
	Schema        string `json:"schema,omitempty"`
	SchemaVersion int    `json:"schemaVersion,omitempty"`
	// Cluster and Nodes: in cluster mode, every server's state.
	Cluster string            `json:"cluster,omitempty"`
	Nodes   []store.NodeState `json:"nodes,omitempty"`
	// OptimizerModules is every optimizer module's state (optimizer.go).
	OptimizerModules []optimizer.ModuleHealth `json:"optimizerModules,omitempty"`
}

// CheckHealth connects, reports the server version and the schema's state, or
// says what to fix; then the optimizer modules' state. A module that could
// not be loaded fails the check (queries still run, without it).
func (inst *Instance) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	res, details := inst.checkStore(ctx)
	if inst.optimizer != nil {
		msg, failed, mods := optimizerHealth(ctx, inst.optimizer)
		if msg != "" {
			res.Message += " " + msg
		}
		if failed {
			res.Status = backend.HealthStatusError
		}
		details.OptimizerModules = mods
	}
	res.JSONDetails = mustJSON(details)
	return res, nil
}

// checkStore is the health of the connection and the schema.
func (inst *Instance) checkStore(ctx context.Context) (*backend.CheckHealthResult, healthDetails) {
	st, err := inst.ready()
	if err != nil {
		return healthError(err, healthDetails{Category: "settings"})
	}
	ctx, cancel := context.WithTimeout(ctx, inst.settings.DialTimeout+inst.settings.QueryTimeout)
	defer cancel()
	d, err := st.Dialect(ctx)
	if err != nil {
		return healthError(err, healthDetails{Category: category(err)})
	}
	details := healthDetails{ServerVersion: d.Version.String(), Database: inst.settings.Database}
	schema, err := st.SchemaState(ctx)
	if err != nil {
		details.Category = category(err)
		var ce *store.ConnError
		if !errors.As(err, &ce) {
			err = fmt.Errorf("ClickHouse %s answered, but reading the schema state failed: %w", d.Version, err)
		}
		// Else the version is remembered from an earlier connection: the
		// server may be gone now, so claim no connection. In cluster mode,
		// say which servers do not answer.
		if note, _ := inst.clusterNote(ctx, st, &details); note != "" {
			err = fmt.Errorf("%w %s", err, note)
		}
		return healthError(err, details)
	}
	details.Schema, details.SchemaVersion = string(schema.Status), schema.Version
	msg := fmt.Sprintf("Connected to ClickHouse %s at %s, database %s. %s", d.Version, inst.settings.Addr(), inst.settings.Database, schema.Describe())
	if schema.Detail != "" && schema.Status != store.SchemaBroken {
		msg += " " + schema.Detail + "."
	}
	status := backend.HealthStatusOk
	if schema.Status == store.SchemaBroken {
		status = backend.HealthStatusError
	}
	if note, ok := inst.clusterNote(ctx, st, &details); note != "" {
		msg += " " + note
		if !ok {
			status = backend.HealthStatusError
		}
	}
	// Automatic migration and retention run in the background (upkeep);
	// their failures surface here rather than failing the instance.
	if note, failed := inst.upkeep.HealthNote(schema.Status == store.SchemaReady); note != "" {
		msg += " " + note
		if failed {
			status = backend.HealthStatusError
		}
	}
	return &backend.CheckHealthResult{Status: status, Message: msg}, details
}

// clusterNote is, in cluster mode, a sentence on every server of the cluster
// (see store.ClusterSummary) and whether kpiflow can work on it; the servers'
// states go into details. It is "" without a cluster setting.
func (inst *Instance) clusterNote(ctx context.Context, st *store.Store, details *healthDetails) (string, bool) {
	if inst.settings.Cluster == "" {
		return "", true
	}
	nodes, err := st.ClusterState(ctx)
	if err != nil {
		return fmt.Sprintf("Reading the state of cluster %s failed: %v.", inst.settings.Cluster, err), false
	}
	details.Cluster, details.Nodes = inst.settings.Cluster, nodes
	return store.ClusterSummary(inst.settings.Cluster, nodes)
}

func healthError(err error, details healthDetails) (*backend.CheckHealthResult, healthDetails) {
	return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: err.Error()}, details
}

func category(err error) string {
	var ce *store.ConnError
	if errors.As(err, &ce) {
		return string(ce.Category)
	}
	return string(store.CategoryServer)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs reach here; failing to encode one is a bug.
		panic(fmt.Sprintf("plugin: encode %T: %v", v, err))
	}
	return b
}
