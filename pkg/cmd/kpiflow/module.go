package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/optimizer"
	"github.com/kpiflow/kpiflow/pkg/query"
)

const moduleUsage = `kpiflow module runs a query optimizer module (WASM, ABI v1) on one query's plan,
in the sandbox the data source uses, and prints what the data source would do with it:
the module's sha256 and settings entry, the plan before and after, the notices a
panel would show, and the SQL that would run. Nothing is sent anywhere.

Usage:
  kpiflow module [flags] <file.wasm>

Examples:
  kpiflow module tag.wasm
  kpiflow module --config '{"team": "payments"}' --request tag.wasm
  kpiflow module --query '{"metrics": ["lead_time"], "aggregation": "p90", "interval": "1d"}' --from 2026-08-01T00:00:00Z tag.wasm

Exit status: 0 the module ran and its answer was accepted (or it kept the plan),
1 it failed, was rejected or could not be loaded, 2 bad flags.
`

// moduleDefaultQuery is the kpi query --query defaults to.
const moduleDefaultQuery = `{"metrics": ["build_seconds"], "aggregation": "avg", "interval": "1h", "groupBy": ["team"]}`

func (a *app) module(ctx context.Context, args []string) error {
	fs := newFlagSet("module", moduleUsage, a.stderr)
	name := fs.String("name", "", "the module's name in notices (default: the file name without .wasm)")
	config := fs.String("config", "", "the module's config, a JSON object (as in the settings)")
	queryType := fs.String("type", query.TypeKPI, "the query's queryType: kpi, dora or taskflow")
	queryJSON := fs.String("query", moduleDefaultQuery, "the query's JSON, as a panel sends it")
	to := fs.String("to", "", "end of the time range, RFC 3339 (default: now, to the hour)")
	from := fs.String("from", "", "start of the time range, RFC 3339 (default: 7 days before --to)")
	maxPoints := fs.Int64("max-points", 1000, "the panel's maxDataPoints")
	builtin := fs.Bool("builtin", true, "run the built-in module first, as the data source does")
	showRequest := fs.Bool("request", false, "also print the request JSON the module receives")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("module: give one module file, e.g. kpiflow module tag.wasm")
	}
	path, err := filepath.Abs(rest[0])
	if err != nil {
		return usageErrorf("module: %v", err)
	}
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(path), ".wasm")
	}
	var cfg json.RawMessage
	if *config != "" {
		if !json.Valid([]byte(*config)) || !strings.HasPrefix(strings.TrimSpace(*config), "{") {
			return usageErrorf("module: --config must be a JSON object, got %s", *config)
		}
		cfg = json.RawMessage(*config)
	}
	end := a.now().UTC().Truncate(time.Hour)
	if *to != "" {
		if end, err = time.Parse(time.RFC3339, *to); err != nil {
			return usageErrorf("module: --to: %v", err)
		}
	}
	start := end.Add(-7 * 24 * time.Hour)
	if *from != "" {
		if start, err = time.Parse(time.RFC3339, *from); err != nil {
			return usageErrorf("module: --from: %v", err)
		}
	}
	q, err := query.Parse(*queryType, []byte(*queryJSON))
	if err != nil {
		return usageErrorf("module: --query: %v", err)
	}
	built, err := q.Build(query.Env{From: start, To: end, Interval: time.Minute, MaxDataPoints: *maxPoints, MaxRows: 1_000_000})
	if err != nil {
		return usageErrorf("module: --query: %v", err)
	}
	before := built.Plan
	catalog := query.Catalog()

	wasm, err := os.ReadFile(path)
	if err != nil {
		return usageErrorf("module: %v", err)
	}
	sum := sha256.Sum256(wasm)
	entry, _ := json.Marshal(struct {
		Name   string          `json:"name"`
		Path   string          `json:"path"`
		SHA256 string          `json:"sha256"`
		Config json.RawMessage `json:"config,omitempty"`
	}{*name, path, hex.EncodeToString(sum[:]), cfg})
	out := a.stdout
	fmt.Fprintf(out, "module:   %s\nsha256:   %x\nsettings: jsonData.optimizerModules: [%s]\n\n", path, sum, entry)

	h, err := optimizer.New(ctx, optimizer.NewConfig().WithBuiltin(*builtin).
		WithModules(optimizer.Module{Name: *name, Path: path, SHA256: hex.EncodeToString(sum[:]), Config: cfg}))
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	if err := h.Ready(ctx); err != nil {
		return err
	}
	if *showRequest {
		req, err := optimizer.RequestJSON(before, catalog, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "request (as the first module of the chain receives it):")
		writeIndented(out, req)
	}
	fmt.Fprintln(out, "plan before:")
	writeJSON(out, before)
	after, notices := h.Optimize(ctx, before, catalog)
	fmt.Fprintln(out, "notices:")
	failed := false
	for _, n := range notices {
		fmt.Fprintln(out, "  "+n.Text())
		failed = failed || (n.Module == *name && n.Kind == optimizer.NoticeFailed)
	}
	fmt.Fprintln(out, "plan after:")
	writeJSON(out, after)
	sql, sqlArgs, err := query.SQL(after, catalog)
	if err != nil {
		return fmt.Errorf("module: the plan does not make SQL: %w", err)
	}
	fmt.Fprintf(out, "SQL:\n  %s\n  -- arguments: %v\n", sql, sqlArgs)
	for _, mh := range h.Health() {
		if mh.Name == *name && mh.Error != "" {
			return fmt.Errorf("module %q could not be loaded: %s", *name, mh.Error)
		}
	}
	if failed {
		return fmt.Errorf("module %q failed or its answer was rejected (see its notice)", *name)
	}
	return nil
}

func writeJSON(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	writeIndented(w, b)
}

func writeIndented(w io.Writer, b []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "  ", "  ") != nil {
		buf.Reset()
		buf.Write(b)
	}
	fmt.Fprintf(w, "  %s\n", buf.String())
}
