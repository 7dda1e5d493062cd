// Command kpiflow pushes engineering events into kpiflow's KPI store, fills
// it with a demo dataset and tries query optimizer modules locally.
//
//	kpiflow push deployments deploys.ndjson          # files of rows
//	kpiflow push deployment --service api ...         # one deployment from flags
//	kpiflow demo --days 30 --grafana http://localhost:3000 --user admin --password admin
//	kpiflow module tag.wasm                           # what a data source would do with a module
//
// Run "kpiflow help" for the subcommands and "kpiflow <subcommand> --help"
// for their flags and examples.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the server refused, or could not be reached
	exitUsage   = 2 // bad flags or input files
	exitTimeout = 3 // --wait ran out
)

const mainUsage = `kpiflow sends engineering events to kpiflow's KPI store.

Usage:
  kpiflow push <stream> [file ...]     send JSON or NDJSON files of rows (stream: kpi, tasks,
                                       deployments, incidents, pipelines, teams)
  kpiflow push deployment [flags]      send one deployment described by flags
  kpiflow push pipeline [flags]        send one pipeline run described by flags
  kpiflow push sample [flags]          send one KPI sample described by flags
  kpiflow demo [flags]                 fill the store with a realistic demo dataset
  kpiflow module [flags] <file.wasm>   try a query optimizer module on a query, locally
  kpiflow help [subcommand]            show help

Data goes to Grafana's ingest API of the kpiflow data source
(POST <grafana>/api/datasources/uid/<uid>/resources/ingest/<stream>), authenticated
with a service account token; "kpiflow demo" can also write straight to ClickHouse.

Environment: KPIFLOW_GRAFANA_URL, KPIFLOW_TOKEN, KPIFLOW_DATASOURCE, KPIFLOW_DATASOURCE_NAME,
KPIFLOW_USER, KPIFLOW_PASSWORD, KPIFLOW_CLICKHOUSE_PASSWORD stand in for their flags.

Examples:
  export KPIFLOW_GRAFANA_URL=https://grafana.example.com KPIFLOW_TOKEN=glsa_... KPIFLOW_DATASOURCE=<uid>
  kpiflow push deployment --service api --result success --commit-sha "$SHA" --first-commit-at 2026-11-20T09:12:00Z
  kpiflow push pipeline --pipeline build --team payments --status success --started-at "$START"
  kpiflow push incidents incidents.ndjson
  kpiflow demo --grafana http://localhost:3000 --user admin --password admin --wait 120s --migrate
  kpiflow demo --clickhouse localhost:9000 --database kpiflow --days 30

Exit status: 0 done, 1 the server refused or could not be reached, 2 bad flags or input,
3 --wait ran out.
`

// env reads the environment; tests pass their own.
type env func(string) string

// usageError is a mistake in the command line or the input files: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// app is what a run of the command uses from its surroundings; tests fill
// it with buffers, a fake environment and a sleep that does not wait.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         env
	now            func() time.Time
	// sleep waits d or until ctx ends.
	sleep func(ctx context.Context, d time.Duration) error
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now, sleep: sleepCtx}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func (a *app) run(ctx context.Context, args []string) int {
	stdout, stderr := a.stdout, a.stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "push":
		err = a.push(ctx, args[1:])
	case "demo":
		err = a.demo(ctx, args[1:])
	case "module":
		err = a.module(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] != "help" {
			return a.run(ctx, []string{args[1], "--help"})
		}
		fmt.Fprint(stdout, mainUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "kpiflow: unknown subcommand %q\n\n%s", args[0], mainUsage)
		return exitUsage
	}
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintln(stderr, "kpiflow: "+err.Error())
	var ue *usageError
	var we *waitError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &we):
		return exitTimeout
	}
	return exitFailed
}

// waitError is --wait running out: exit 3.
type waitError struct{ err error }

func (e *waitError) Error() string { return e.err.Error() }
func (e *waitError) Unwrap() error { return e.err }

// newFlagSet makes a subcommand's flag set that reports errors instead of
// exiting, with usage text written to stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments (as in
// "kpiflow push deployments file.ndjson --grafana ..."), which the standard
// library's flag package stops at.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// addGrafanaFlags registers the flags for reaching Grafana.
func addGrafanaFlags(fs *flag.FlagSet, f *grafanaFlags) {
	fs.StringVar(&f.url, "grafana", "", "Grafana's URL, such as https://grafana.example.com (env KPIFLOW_GRAFANA_URL)")
	fs.StringVar(&f.token, "token", "", "Grafana service account token, role Editor or the data source's ingest role (env KPIFLOW_TOKEN)")
	fs.StringVar(&f.user, "user", "", "Grafana user for basic auth, instead of --token (env KPIFLOW_USER)")
	fs.StringVar(&f.password, "password", "", "password of --user (env KPIFLOW_PASSWORD)")
	fs.StringVar(&f.datasource, "datasource", "", "UID of the kpiflow data source (env KPIFLOW_DATASOURCE); when empty it is looked up by --datasource-name, or as the only kpiflow data source")
	fs.StringVar(&f.datasourceName, "datasource-name", "", "name of the kpiflow data source, used when --datasource is empty (env KPIFLOW_DATASOURCE_NAME)")
	fs.IntVar(&f.retries, "retries", 5, "retries after a 503, 429, 502, 504 or network error, with the same idempotency key")
	fs.DurationVar(&f.maxBackoff, "max-backoff", 30*time.Second, "longest wait between retries (also caps the server's Retry-After)")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "timeout of one HTTP request")
	fs.DurationVar(&f.wait, "wait", 0, "wait up to this long for Grafana, the data source and its health check (or, with demo --clickhouse, for ClickHouse) before sending, e.g. 120s")
}

// fromEnv fills empty flags from the environment. Secrets are not flag
// defaults, so --help never prints them.
func (f *grafanaFlags) fromEnv(getenv env) {
	set := func(v *string, name string) {
		if *v == "" {
			*v = getenv(name)
		}
	}
	set(&f.url, "KPIFLOW_GRAFANA_URL")
	set(&f.datasource, "KPIFLOW_DATASOURCE")
	set(&f.datasourceName, "KPIFLOW_DATASOURCE_NAME")
	if f.user == "" {
		set(&f.token, "KPIFLOW_TOKEN")
	}
	if f.token == "" {
		set(&f.user, "KPIFLOW_USER")
	}
	set(&f.password, "KPIFLOW_PASSWORD")
}

// connect validates the Grafana flags and finds the data source.
func (a *app) connect(ctx context.Context, f grafanaFlags) (*client, string, error) {
	c, err := newClient(f, a.stderr, a.sleep)
	if err != nil {
		return nil, "", err
	}
	uid, err := c.waitReady(ctx, f)
	if err != nil {
		if f.wait > 0 {
			return nil, "", &waitError{err}
		}
		return nil, "", err
	}
	return c, uid, nil
}
