package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/kpiflow/kpiflow/pkg/demo"
	"github.com/kpiflow/kpiflow/pkg/dialect"
	"github.com/kpiflow/kpiflow/pkg/ingest"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

// datasetNow ends every dataset, so a reused database holds the same rows as
// a fresh load and the cases' time ranges are fixed.
var datasetNow = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// datasetSpecs are the generated datasets: the demo's defaults, and a denser
// one (1-minute service KPIs, 9 teams: 6.2x the demo's KPI samples).
func datasetSpecs(smoke bool) map[string]demo.Options {
	days := 90
	if smoke {
		days = 2
	}
	return map[string]demo.Options{
		"demo":  {Seed: 1, Days: days, Now: datasetNow},
		"dense": {Seed: 1, Days: days, Now: datasetNow, Teams: demo.MaxTeams, KPIInterval: time.Minute},
	}
}

// dataset is one generated dataset loaded into its own database.
type dataset struct {
	name     string
	opts     demo.Options
	database string
	settings settings.Settings
	ds       plugintest.DataSource // the plugin's data source on it
	raw      driver.Conn           // the baseline's pool, with the store's options
	kpiRows  int
}

// loadDataset generates a dataset and writes it through the ingest package's
// Writer (validation, dedupe and ledger, as `kpiflow demo --clickhouse`
// does), unless -reuse finds it loaded already.
func (b *bench) loadDataset(ctx context.Context, name string) (*dataset, error) {
	o := datasetSpecs(b.cfg.smoke)[name]
	t0 := time.Now()
	gen := demo.Generate(o)
	d, st, err := b.openDatabase(ctx, name, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	d.opts, d.kpiRows = o, gen.Len(demo.StreamKPI)
	var have uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM kpi_samples").Scan(&have); err != nil {
		return nil, fmt.Errorf("count %s.kpi_samples: %w", d.database, err)
	}
	if b.cfg.reuse && have == uint64(d.kpiRows) {
		b.logf("dataset %s: reusing %s (%d KPI samples)", name, d.database, have)
		return d, nil
	}
	if have > 0 {
		return nil, fmt.Errorf("database %s holds %d KPI samples, expected 0 or %d: drop it (DROP DATABASE %s) and run again",
			d.database, have, d.kpiRows, d.database)
	}
	w := ingest.NewWriter(st, nil)
	limits := ingest.DefaultLimits()
	limits.MaxBodyBytes = 64 << 20
	const chunkRows = 50_000
	rows := 0
	for _, stream := range demo.Streams() {
		for c, err := range gen.Chunks(stream, chunkRows) {
			if err != nil {
				return nil, err
			}
			batch, err := ingest.Decode(bytes.NewReader(c.Body), stream, ingest.ContentTypeNDJSON, limits)
			if err != nil {
				return nil, fmt.Errorf("decode generated %s rows: %w", stream, err)
			}
			if _, err := w.Write(ctx, batch, fmt.Sprintf("bench-%s-%d", stream, c.Index), "bench"); err != nil {
				return nil, fmt.Errorf("write %s rows into %s: %w", stream, d.database, err)
			}
			rows += c.To - c.From
		}
	}
	b.logf("dataset %s: loaded %d rows (%d KPI samples) into %s in %s", name, rows, d.kpiRows, d.database,
		time.Since(t0).Round(100*time.Millisecond))
	return d, nil
}

// openDatabase creates and migrates the database of dataset name (empty,
// or as a previous run left it) and opens the data source on it, with
// extra jsonData, and the baseline's pool. The caller closes the store.
func (b *bench) openDatabase(ctx context.Context, name string, extra map[string]any) (*dataset, *store.Store, error) {
	d := &dataset{name: name, database: b.cfg.dbPrefix + "_" + name}
	if b.cfg.smoke {
		d.database += "_smoke"
	}
	s, jsonData, err := b.settingsFor(d.database, extra)
	if err != nil {
		return nil, nil, err
	}
	d.settings = s
	if d.ds, err = plugintest.NewDataSource(jsonData, nil); err != nil {
		return nil, nil, err
	}
	if err := store.CreateDatabase(ctx, s); err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("migrate %s: %w", d.database, err)
	}
	if d.raw, err = openRaw(s); err != nil {
		st.Close()
		return nil, nil, err
	}
	return d, st, nil
}

// close drops the database unless -reuse keeps it.
func (d *dataset) close(b *bench) {
	if d.raw == nil {
		return
	}
	if !b.cfg.reuse {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.raw.Exec(ctx, "DROP DATABASE IF EXISTS "+dialect.Quote(d.database)); err != nil {
			b.logf("drop %s: %v", d.database, err)
		}
	}
	_ = d.raw.Close()
}
