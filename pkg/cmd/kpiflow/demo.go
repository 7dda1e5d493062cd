package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/demo"
)

const demoUsage = `Usage: kpiflow demo [flags]

Fills kpiflow's KPI store with a realistic demo dataset: a team tree
(organisation, groups, teams), projects whose tasks move To Do -> In Progress
(-> Blocked) (-> In Review) -> Done with lognormal cycle times, several
deployments per service and weekday with their commit times, incidents caused
by some deployments, CI runs, and KPI samples (latency_p95_ms, error_rate,
requests_per_s every --kpi-interval, with daily and weekly seasonality;
build_duration_s and coverage_pct per CI run) for --days days up to --now.

The dataset is a function of --seed and time: a re-run, even a day later,
repeats the rows it shares with an earlier run, and the ingest API drops them
as duplicates, so running demo twice never doubles the data.

Where it goes (one of):
  --grafana URL ...        through the data source's ingest API (validation, dedupe
                           and the ledger apply), in batches of --batch-size rows
  --clickhouse host:port   straight to ClickHouse: applies the schema migrations
                           first, then writes each batch as the ingest API would

Examples:
  kpiflow demo --grafana http://localhost:3000 --user admin --password admin --wait 120s --migrate
  kpiflow demo --grafana https://grafana.example.com --token glsa_... --datasource kpiflow --days 30 --seed 7
  kpiflow demo --clickhouse localhost:9000 --database kpiflow --days 14
  kpiflow demo --dry-run --days 30           # only count the rows
`

type demoOptions struct {
	gen        demo.Options
	now        timeFlag
	grafana    grafanaFlags
	batchSize  int
	migrate    bool
	streams    string
	dryRun     bool
	clickhouse clickhouseFlags
}

// clickhouseFlags reach ClickHouse directly.
type clickhouseFlags struct {
	addr     string
	database string
	user     string
	password string
	tls      bool
}

func (a *app) demo(ctx context.Context, args []string) error {
	stdout, stderr, getenv := a.stdout, a.stderr, a.getenv
	var o demoOptions
	o.now.now = a.now
	fs := newFlagSet("demo", demoUsage, stderr)
	fs.IntVar(&o.gen.Days, "days", demo.DefaultDays, "days of history, ending at --now")
	fs.Int64Var(&o.gen.Seed, "seed", 1, "seed; the same seed gives the same dataset")
	fs.IntVar(&o.gen.Teams, "teams", demo.DefaultTeams, fmt.Sprintf("number of teams, 1 to %d, spread over groups under one organisation", demo.MaxTeams))
	fs.DurationVar(&o.gen.KPIInterval, "kpi-interval", demo.DefaultKPIInterval, "spacing of the service KPI samples, 1m to 1h")
	fs.Var(&o.now, "now", "end of the dataset (RFC 3339 or epoch ms; default: now, rounded down to --kpi-interval)")
	fs.StringVar(&o.streams, "streams", strings.Join(demo.Streams(), ","), "streams to write, comma-separated")
	fs.BoolVar(&o.dryRun, "dry-run", false, "generate and count the rows, write nothing")
	addGrafanaFlags(fs, &o.grafana)
	fs.IntVar(&o.batchSize, "batch-size", 5000, "rows per request or per ClickHouse insert")
	fs.BoolVar(&o.migrate, "migrate", false, "with --grafana: apply the schema migrations first (POST admin/migrate; needs an Admin)")
	fs.StringVar(&o.clickhouse.addr, "clickhouse", "", "write straight to ClickHouse at host:port (native protocol) instead of through Grafana")
	fs.StringVar(&o.clickhouse.database, "database", "kpiflow", "with --clickhouse: the database (created when missing)")
	fs.StringVar(&o.clickhouse.user, "clickhouse-user", "default", "with --clickhouse: the user")
	fs.StringVar(&o.clickhouse.password, "clickhouse-password", "", "with --clickhouse: the password (env KPIFLOW_CLICKHOUSE_PASSWORD)")
	fs.BoolVar(&o.clickhouse.tls, "clickhouse-tls", false, "with --clickhouse: connect with TLS")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("demo: unexpected argument %q (everything is given with flags)", rest[0])
	}
	if o.clickhouse.password == "" {
		o.clickhouse.password = getenv("KPIFLOW_CLICKHOUSE_PASSWORD")
	}
	if o.clickhouse.addr == "" {
		o.grafana.fromEnv(getenv)
	}
	if o.now.set {
		o.gen.Now = o.now.t
	} else if o.gen.KPIInterval > 0 {
		// Rounded so that runs a few minutes apart share their KPI grid.
		o.gen.Now = a.now().UTC().Truncate(o.gen.KPIInterval)
	}
	if o.gen.Days < 1 || o.gen.Teams < 1 {
		// Zero means "default" to demo.Options, not on the command line.
		return usageErrorf("--days and --teams: expected at least 1, got %d and %d", o.gen.Days, o.gen.Teams)
	}
	if o.gen.KPIInterval < time.Minute || o.gen.KPIInterval > time.Hour || o.gen.KPIInterval%time.Second != 0 {
		return usageErrorf("--kpi-interval: expected whole seconds from 1m to 1h, got %s", o.gen.KPIInterval)
	}
	if err := o.gen.Validate(); err != nil {
		return usageErrorf("--%s", err)
	}
	if o.batchSize < 1 {
		return usageErrorf("--batch-size: expected at least 1, got %d", o.batchSize)
	}
	streams, err := pickStreams(o.streams)
	if err != nil {
		return err
	}
	switch {
	case o.dryRun:
	case o.clickhouse.addr != "" && o.grafana.url != "":
		return usageErrorf("--grafana and --clickhouse: give one, where the data goes")
	case o.clickhouse.addr == "" && o.grafana.url == "":
		return usageErrorf("--grafana or --clickhouse: required: where the data goes (or --dry-run)")
	}

	started := time.Now()
	ds := demo.Generate(o.gen)
	fmt.Fprintf(stdout, "demo: seed %d, %d days from %s to %s, %d teams; generated in %s\n", ds.Options.Seed, ds.Options.Days,
		rfc3339(ds.From), rfc3339(ds.To), ds.Options.Teams, time.Since(started).Round(time.Millisecond))
	if o.dryRun {
		for _, s := range streams {
			fmt.Fprintf(stdout, "%s: %d rows\n", s, ds.Len(s))
		}
		return nil
	}

	var w writer
	if o.clickhouse.addr != "" {
		cw, err := a.openClickHouse(ctx, o.clickhouse, o.grafana.wait)
		if err != nil {
			return err
		}
		defer cw.close()
		w = cw
	} else {
		c, uid, err := a.connect(ctx, o.grafana)
		if err != nil {
			return err
		}
		if h, err := c.health(ctx, uid); err == nil && h.Details.Schema == "missing" && !o.migrate {
			return fmt.Errorf("the data source's ClickHouse schema is not installed: run again with --migrate (as a Grafana Admin), or turn on autoMigrate in the data source's settings")
		}
		if o.migrate {
			var res struct {
				Version int `json:"version"`
			}
			if err := c.postResource(ctx, uid, "admin/migrate", &res); err != nil {
				return fmt.Errorf("apply the schema migrations: %w", err)
			}
			fmt.Fprintf(stdout, "schema at migration %d\n", res.Version)
		}
		w = apiWriter{c: c, uid: uid}
	}
	for _, s := range streams {
		if err := writeStream(ctx, w, &ds, s, o.batchSize, stdout, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "demo: done in %s\n", time.Since(started).Round(time.Millisecond))
	return nil
}

func pickStreams(list string) ([]string, error) {
	var out []string
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(demo.Streams(), s) {
			return nil, usageErrorf("--streams: unknown stream %q; expected some of %s", s, strings.Join(demo.Streams(), ","))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, usageErrorf("--streams: name at least one of %s", strings.Join(demo.Streams(), ","))
	}
	// Keep the dataset's order (team tree first), whatever order was given.
	slices.SortFunc(out, func(a, b string) int {
		return slices.Index(demo.Streams(), a) - slices.Index(demo.Streams(), b)
	})
	return out, nil
}

// writer writes one chunk of a stream under an idempotency key.
type writer interface {
	write(ctx context.Context, stream string, ds *demo.Dataset, from, to int, key string) (ingestResult, error)
}

// apiWriter writes through Grafana's ingest API.
type apiWriter struct {
	c   *client
	uid string
}

func (w apiWriter) write(ctx context.Context, stream string, ds *demo.Dataset, from, to int, key string) (ingestResult, error) {
	body, err := ds.NDJSON(stream, from, to)
	if err != nil {
		return ingestResult{}, err
	}
	res, err := w.c.ingest(ctx, w.uid, stream, body, key)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusRequestEntityTooLarge && to-from > 1 {
		// Over the server's limits: send the halves, each under its own key.
		mid := from + (to-from)/2
		a, err := w.write(ctx, stream, ds, from, mid, key+"a")
		if err != nil {
			return a, err
		}
		b, err := w.write(ctx, stream, ds, mid, to, key+"b")
		return ingestResult{Accepted: a.Accepted + b.Accepted, Duplicates: a.Duplicates + b.Duplicates, BatchID: b.BatchID, LedgerHash: b.LedgerHash}, err
	}
	return res, err
}

// demoKey is a chunk's Idempotency-Key. It names the dataset (seed, window,
// teams, interval) and the chunk, so re-sending a chunk of the same run is
// answered from the ledger without writing, while a run with another window,
// whose chunks hold other rows, gets other keys (and the per-row event_id
// dedupe drops the rows it shares with earlier runs).
func demoKey(o demo.Options, stream string, index, size int) string {
	return fmt.Sprintf("kpiflow-demo-%d-%d-%d-%d-%d-%s-%d-%d", o.Seed, o.Now.Unix(), o.Days, o.Teams,
		int64(o.KPIInterval/time.Second), stream, size, index)
}

func writeStream(ctx context.Context, w writer, ds *demo.Dataset, stream string, size int, stdout, progress io.Writer) error {
	started := time.Now()
	n := ds.Len(stream)
	chunks := (n + size - 1) / size
	var total ingestResult
	for i := range chunks {
		from, to := i*size, min((i+1)*size, n)
		res, err := w.write(ctx, stream, ds, from, to, demoKey(ds.Options, stream, i, size))
		if err != nil {
			return fmt.Errorf("%s: batch %d/%d (rows %d-%d): %w", stream, i+1, chunks, from, to-1, err)
		}
		total.Accepted += res.Accepted
		total.Duplicates += res.Duplicates
		if chunks >= 20 && (i+1)%(chunks/10) == 0 && i+1 < chunks {
			fmt.Fprintf(progress, "%s: %d of %d batches written\n", stream, i+1, chunks)
		}
	}
	fmt.Fprintf(stdout, "%s: %d rows in %d batch(es): accepted %d, duplicates %d (%s)\n", stream, n, chunks,
		total.Accepted, total.Duplicates, time.Since(started).Round(time.Millisecond))
	return nil
}

// parsePort checks host:port for --clickhouse.
func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndex(addr, ":")
	if i <= 0 || i == len(addr)-1 {
		return "", 0, usageErrorf("--clickhouse: expected host:port, such as localhost:9000, got %q", addr)
	}
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil || port < 1 || port > 65535 {
		return "", 0, usageErrorf("--clickhouse: expected a port number after the colon, got %q", addr)
	}
	return strings.Trim(addr[:i], "[]"), port, nil
}
