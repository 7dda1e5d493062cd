package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/hashicorp/go-hclog"

	"github.com/kpiflow/kpiflow/pkg/internal/chserver"
	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
	"github.com/kpiflow/kpiflow/pkg/settings"
	"github.com/kpiflow/kpiflow/pkg/store"
)

const usage = `Usage: go run ./pkg/internal/bench [flags] query|load|live|chunked

  query   each dashboard query and large raw SQL result through the plugin,
          alternating with the same SQL read by clickhouse-go (issue 10)
  load    C concurrent clients sending a 13-query dashboard (issue 17)
  live    ingest and direct inserts to 100 RunStream subscribers (issue 12)
  chunked QueryChunkedData vs QueryData on a 10M-row raw SQL result (issue 12)

Flags:
`

// config is the command line.
type config struct {
	mode       string
	clickhouse string
	pluginBin  string
	smoke      bool
	reuse      bool
	dbPrefix   string
	datasets   []string
	// query mode
	rounds int
	cases  *regexp.Regexp
	idle   time.Duration
	// load mode
	clients  []int
	duration time.Duration
	scenario string
	down     time.Duration
	inflight []int
	// live mode
	subscribers int
	events      int
	gap         time.Duration
	direct      int
	// chunked mode
	chunkedRows int
	queryData   bool
	// plugin process
	pprofPort string
	pluginEnv []string
	pluginLog string
	logLevel  string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&c.clickhouse, "clickhouse", "", "use the ClickHouse at host:port (default: start a private one with scripts/clickhouse.sh)")
	fs.StringVar(&c.pluginBin, "plugin", os.Getenv("KPIFLOW_PLUGIN_BIN"), "gpx_kpiflow binary (default $KPIFLOW_PLUGIN_BIN, else built from ./pkg)")
	fs.BoolVar(&c.smoke, "smoke", false, "tiny datasets, one round, short load levels: checks that the benchmark runs (CI)")
	fs.BoolVar(&c.reuse, "reuse", false, "keep the loaded databases and reuse them next time when their row counts match")
	fs.StringVar(&c.dbPrefix, "db-prefix", "kpiflow_bench", "prefix of the databases the datasets are loaded into")
	ds := fs.String("datasets", "demo,dense", "datasets to load and query: demo (90 days, 5-minute KPIs), dense (1-minute KPIs, 9 teams)")
	fs.IntVar(&c.rounds, "rounds", 7, "query mode: timed rounds per case, each plugin then raw (or raw then plugin)")
	cases := fs.String("cases", "", "query mode: only cases whose name matches this regular expression")
	fs.DurationVar(&c.idle, "idle", 0, "query mode: after the largest case, wait this long and run it once more (re-fault after idle)")
	clients := fs.String("clients", "1,4,16,64,256", "load mode: concurrency levels, comma-separated")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "load mode: how long each level sends requests (in-flight ones are then awaited)")
	fs.StringVar(&c.scenario, "scenario", "none", "load mode: none, restart (kill and restart the private ClickHouse mid-run) or cancel (cancel queries while the pool is full)")
	inflight := fs.String("inflight", "9,12", "load mode, scenario cancel: slow queries in flight when they are cancelled, comma-separated")
	fs.DurationVar(&c.down, "down", 10*time.Second, "load mode, scenario restart: how long ClickHouse stays down")
	fs.IntVar(&c.subscribers, "subscribers", 100, "live mode: RunStream calls reading the channel")
	fs.IntVar(&c.events, "events", 200, "live mode: events sent through POST ingest/tasks, one per call (half as many before anyone subscribes, for the ingest baseline)")
	fs.DurationVar(&c.gap, "gap", 50*time.Millisecond, "live mode: pause after each ingest call")
	fs.IntVar(&c.direct, "direct", 30, "live mode: events inserted straight into ClickHouse at random moments (the watermark poll finds them)")
	fs.IntVar(&c.chunkedRows, "rows", 10_000_000, "chunked mode: rows of the raw SQL result (at most 10,000,000, the largest maxRows)")
	fs.BoolVar(&c.queryData, "querydata", true, "chunked mode: also run the query through QueryData (the baseline; 10M rows take gigabytes)")
	fs.StringVar(&c.pprofPort, "pprof", "", "start the plugin with the SDK's pprof server on this port")
	env := fs.String("plugin-env", "", "extra environment of the plugin process, comma-separated KEY=VALUE (e.g. GOGC=50,GOMEMLIMIT=512MiB)")
	fs.StringVar(&c.pluginLog, "plugin-log", "", "write the plugin's log lines to this file")
	fs.StringVar(&c.logLevel, "log-level", "info", "plugin log level passed on (Grafana's default is info)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() != 1 || !slices.Contains([]string{"query", "load", "live", "chunked"}, fs.Arg(0)) {
		fs.Usage()
		return c, errors.New("expected one mode: query, load, live or chunked")
	}
	c.mode = fs.Arg(0)
	for _, kv := range strings.Split(*env, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if !strings.Contains(kv, "=") {
			return c, fmt.Errorf("-plugin-env: expected KEY=VALUE, got %q", kv)
		}
		c.pluginEnv = append(c.pluginEnv, kv)
	}
	c.datasets = strings.Split(*ds, ",")
	for _, d := range c.datasets {
		if _, ok := datasetSpecs(false)[d]; !ok {
			return c, fmt.Errorf("-datasets: unknown dataset %q; expected demo or dense", d)
		}
	}
	var err error
	if c.cases, err = regexp.Compile(*cases); err != nil {
		return c, fmt.Errorf("-cases: %w", err)
	}
	if c.clients, err = positiveInts("-clients", *clients); err != nil {
		return c, err
	}
	if c.inflight, err = positiveInts("-inflight", *inflight); err != nil {
		return c, err
	}
	switch c.scenario {
	case "none", "restart", "cancel":
	default:
		return c, fmt.Errorf("-scenario: expected none, restart or cancel, got %q", c.scenario)
	}
	if c.scenario == "restart" && c.clickhouse != "" {
		return c, errors.New("-scenario restart kills ClickHouse: it needs the private server (leave -clickhouse unset)")
	}
	if c.smoke {
		// Small figures for what the command line does not set itself.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		smoke := map[string]func(){
			"rounds": func() { c.rounds = 1 }, "duration": func() { c.duration = time.Second },
			"clients": func() { c.clients = []int{1, 3} }, "inflight": func() { c.inflight = []int{2} },
			"down":        func() { c.down = time.Second },
			"subscribers": func() { c.subscribers = 3 }, "events": func() { c.events = 6 }, "direct": func() { c.direct = 2 },
			"rows": func() { c.chunkedRows = 100_000 },
		}
		for name, apply := range smoke {
			if !set[name] {
				apply()
			}
		}
	}
	if c.rounds < 1 {
		return c, errors.New("-rounds: expected at least 1")
	}
	if c.subscribers < 1 || c.events < 2 || c.direct < 1 {
		return c, errors.New("-subscribers and -direct: expected at least 1; -events: at least 2")
	}
	if c.chunkedRows < 1 || c.chunkedRows > settings.MaxMaxRows {
		return c, fmt.Errorf("-rows: expected 1 to %d", settings.MaxMaxRows)
	}
	return c, nil
}

func positiveInts(flagName, list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: expected positive numbers, comma-separated, got %q", flagName, s)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is what both modes work with.
type bench struct {
	cfg    config
	out    io.Writer
	server *chserver.Server // nil with -clickhouse
	addr   string
	plugin *plugintest.Plugin
	logs   *logCounter
	sets   []*dataset
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, out: stdout, addr: cfg.clickhouse}
	defer b.close()
	start := time.Now()
	if b.addr == "" {
		if b.server, err = chserver.Start(ctx); err != nil {
			return err
		}
		b.addr = b.server.Addr
		b.logf("private ClickHouse at %s (pid %d, %s)", b.addr, b.server.Pid(), b.server.Dir)
	}
	if err := b.startPlugin(); err != nil {
		return err
	}
	// live and chunked mode make their own databases.
	for _, name := range cfg.datasets {
		if cfg.mode == "live" || cfg.mode == "chunked" {
			break
		}
		d, err := b.loadDataset(ctx, name)
		if err != nil {
			return err
		}
		b.sets = append(b.sets, d)
	}
	b.logf("setup took %s", time.Since(start).Round(100*time.Millisecond))
	switch cfg.mode {
	case "query":
		err = b.queryMode(ctx)
	case "load":
		err = b.loadMode(ctx)
	case "live":
		err = b.liveMode(ctx)
	case "chunked":
		err = b.chunkedMode(ctx)
	}
	b.logf("total %s", time.Since(start).Round(100*time.Millisecond))
	return err
}

func (b *bench) startPlugin() error {
	bin := b.cfg.pluginBin
	if bin == "" {
		dir, err := os.MkdirTemp("", "kpiflow-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir) // the running process keeps its inode
		b.logf("building gpx_kpiflow")
		if bin, err = plugintest.Build(dir); err != nil {
			return err
		}
	}
	var logFile io.Writer = io.Discard
	if b.cfg.pluginLog != "" {
		f, err := os.Create(b.cfg.pluginLog)
		if err != nil {
			return err
		}
		logFile = f
	}
	b.logs = &logCounter{w: logFile}
	env := append([]string{}, b.cfg.pluginEnv...)
	if b.cfg.pprofPort != "" {
		env = append(env, "GF_PLUGIN_PROFILING_ENABLED=true", "GF_PLUGIN_PROFILING_PORT="+b.cfg.pprofPort)
	}
	p, err := plugintest.Launch(plugintest.Options{Binary: bin, Env: env, Log: b.logs, LogLevel: hclog.LevelFromString(b.cfg.logLevel)})
	if err != nil {
		return err
	}
	b.plugin = p
	b.logf("plugin %s started, pid %d", bin, p.Pid())
	return nil
}

func (b *bench) close() {
	if b.plugin != nil {
		b.plugin.Kill()
	}
	for _, d := range b.sets {
		d.close(b)
	}
	if b.server != nil {
		if err := b.server.Stop(); err != nil {
			b.logf("stop ClickHouse: %v", err)
		}
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, "# "+format+"\n", args...)
}

// settingsFor are the data source settings the plugin gets for a database,
// and what the raw baseline's pool is opened with (store.Options).
func (b *bench) settingsFor(database string, extra map[string]any) (settings.Settings, map[string]any, error) {
	host, portText, ok := strings.Cut(b.addr, ":")
	port, err := strconv.Atoi(portText)
	if !ok || err != nil {
		return settings.Settings{}, nil, fmt.Errorf("ClickHouse address %q: expected host:port", b.addr)
	}
	jsonData := map[string]any{"host": host, "port": port, "database": database, "dialTimeout": 10, "queryTimeout": 60}
	for k, v := range extra {
		jsonData[k] = v
	}
	raw, err := json.Marshal(jsonData)
	if err != nil {
		return settings.Settings{}, nil, fmt.Errorf("encode the data source's jsonData: %w", err)
	}
	s, err := settings.Parse(raw, nil)
	return s, jsonData, err
}

// openRaw opens a clickhouse-go pool with exactly the options the plugin's
// store uses for s.
func openRaw(s settings.Settings) (driver.Conn, error) {
	opts, err := store.Options(s)
	if err != nil {
		return nil, err
	}
	return clickhouse.Open(opts)
}
