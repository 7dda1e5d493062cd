package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kpiflow/kpiflow/pkg/optimizer"
	"github.com/kpiflow/kpiflow/pkg/query"
	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// optimizerHealthWait bounds how long the health check waits for modules
// still compiling, so "Save & test" reports their real state.
const optimizerHealthWait = 30 * time.Second

// newOptimizer starts the instance's optimizer host on the process's
// engine: the built-in module, then the settings' modules in order.
func newOptimizer(ctx context.Context, eng *optimizer.Engine, s settings.Settings) (*optimizer.Host, error) {
	mods := make([]optimizer.Module, len(s.OptimizerModules))
	for i, m := range s.OptimizerModules {
		mods[i] = optimizer.Module{Name: m.Name, Path: m.Path, SHA256: m.SHA256, Config: m.Config}
	}
	h, err := optimizer.New(ctx, optimizer.NewConfig().WithEngine(eng).WithModules(mods...))
	if err != nil {
		return nil, fmt.Errorf("start the query optimizer: %w", err)
	}
	return h, nil
}

// pipelineFor is the rewrite chain of builder queries: the optimizer
// modules, the built-in one first.
func pipelineFor(h *optimizer.Host) query.Pipeline {
	var rw []query.Rewriter
	for _, s := range h.Steps() {
		rw = append(rw, s)
	}
	return query.Pipeline{Rewriters: rw}
}

// optimizerHealth waits (bounded) for modules still loading and says what
// the health check should: a sentence, whether a module failed to load,
// and every module's state for the JSON details.
func optimizerHealth(ctx context.Context, h *optimizer.Host) (string, bool, []optimizer.ModuleHealth) {
	wait, cancel := context.WithTimeout(ctx, optimizerHealthWait)
	defer cancel()
	_ = h.Ready(wait) // what is still loading after that is reported as such
	mods := h.Health()
	var ready, parts []string
	failed := false
	for _, m := range mods {
		switch m.State {
		case optimizer.StateReady:
			ready = append(ready, m.Name)
		case optimizer.StateFailed:
			failed = true
			parts = append(parts, fmt.Sprintf("Optimizer module %q could not be loaded: %s; queries run without it.", m.Name, m.Error))
		case optimizer.StateNotBuilt:
			parts = append(parts, m.Error+".")
		case optimizer.StateOff:
			parts = append(parts, fmt.Sprintf("Optimizer module %q is switched off until %s after failures in a row (last: %s); queries run without it meanwhile.",
				m.Name, m.OffUntil.UTC().Format("15:04:05 MST"), m.LastFailure))
		default:
			parts = append(parts, fmt.Sprintf("Optimizer module %q is still loading.", m.Name))
		}
	}
	if len(ready) > 0 {
		parts = slices.Insert(parts, 0, "Optimizer modules ready: "+strings.Join(ready, ", ")+".")
	}
	return strings.Join(parts, " "), failed, mods
}

// catalogs remembers the catalog built from the last table statistics, so
// queries within the statistics' lifetime (store.CatalogMaxAge) share one
// catalog value, which the optimizer host and its modules recognise
// without encoding or reading it again.
type catalogs struct {
	mu    sync.Mutex
	stats []schema.TableStats
	c     plan.Catalog
}

func (cs *catalogs) of(base plan.Catalog, stats []schema.TableStats) plan.Catalog {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(stats) == 0 || len(cs.stats) != len(stats) || &cs.stats[0] != &stats[0] {
		cs.stats, cs.c = stats, query.Narrow(base, stats)
	}
	return cs.c
}
