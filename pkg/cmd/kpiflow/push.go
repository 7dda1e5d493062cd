package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpiflow/kpiflow/pkg/schema"
)

const pushUsage = `Usage:
  kpiflow push <stream> [flags] [file ...]
  kpiflow push deployment [flags]
  kpiflow push pipeline [flags]
  kpiflow push sample [flags]

The first form sends files of rows to one stream: kpi, tasks, deployments,
incidents, pipelines or teams. A file holds a JSON array of objects or NDJSON
(one object per line), optionally gzip-compressed; "-" or no file reads stdin.
Keys are the table's column names (see the README); times are RFC 3339 strings
or epoch milliseconds. Rows are sent in batches of --batch-size; each batch is
all or nothing and is retried under one Idempotency-Key, so a retried or
re-run push never counts a row twice.

The other forms build one row from flags, for a CI job's last step; see
"kpiflow push deployment --help" and "kpiflow push pipeline --help".

Examples:
  export KPIFLOW_GRAFANA_URL=https://grafana.example.com KPIFLOW_TOKEN=glsa_... KPIFLOW_DATASOURCE=kpiflow
  kpiflow push deployments deploys.ndjson
  kpiflow push kpi --batch-size 5000 samples-*.json.gz
  jq -c '.[]' incidents.json | kpiflow push incidents -
  kpiflow push tasks --dry-run events.json      # check and print the NDJSON, send nothing
`

// maxBatchBytes keeps a batch well under the ingest API's default body
// limit (16 MiB, measured after decompression).
const maxBatchBytes = 8 << 20

// pushOptions are the flags shared by every push form.
type pushOptions struct {
	grafana        grafanaFlags
	batchSize      int
	idempotencyKey string
	dryRun         bool
}

func addPushFlags(fs *flag.FlagSet, o *pushOptions) {
	addGrafanaFlags(fs, &o.grafana)
	fs.IntVar(&o.batchSize, "batch-size", 1000, "rows per request")
	fs.StringVar(&o.idempotencyKey, "idempotency-key", "", "Idempotency-Key of the request (\"-<n>\" is appended per batch when there are several); default: a hash of the batch, so re-sending the same rows is recognised")
	fs.BoolVar(&o.dryRun, "dry-run", false, "check the input and print the NDJSON that would be sent, without sending")
}

func (a *app) push(ctx context.Context, args []string) error {
	stdout, stderr := a.stdout, a.stderr
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprint(stdout, pushUsage)
			return flag.ErrHelp
		}
		fmt.Fprint(stderr, pushUsage)
		return usageErrorf("push: name a stream (kpi, tasks, deployments, incidents, pipelines, teams) or deployment, pipeline, sample")
	}
	what, args := args[0], args[1:]
	switch what {
	case "deployment", "pipeline", "sample":
		return a.pushOne(ctx, what, args)
	}
	if !slices.Contains(streams(), what) {
		return usageErrorf("push: unknown stream %q; expected one of %s, or deployment, pipeline, sample", what, strings.Join(streams(), ", "))
	}
	var o pushOptions
	fs := newFlagSet("push "+what, pushUsage, stderr)
	addPushFlags(fs, &o)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	o.grafana.fromEnv(a.getenv)
	if o.batchSize < 1 {
		return usageErrorf("--batch-size: expected at least 1, got %d", o.batchSize)
	}
	if len(files) == 0 {
		if f, ok := a.stdin.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				return usageErrorf("push %s: name the files to send, or pipe rows into stdin", what)
			}
		}
		files = []string{"-"}
	}
	var rows []row
	for _, name := range files {
		rs, err := readRows(name, a.stdin)
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	if len(rows) == 0 {
		return usageErrorf("%s: no rows to send", strings.Join(files, ", "))
	}
	return a.send(ctx, o, what, rows)
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

func streams() []string {
	return []string{"kpi", "tasks", "deployments", "incidents", "pipelines", "teams"}
}

// row is one input object, compacted to one line, with where it came from.
type row struct {
	json   []byte
	origin string // file:line or file[index]
}

// readRows reads a JSON array or NDJSON file ("-" is stdin), gzip allowed.
func readRows(name string, stdin io.Reader) ([]row, error) {
	var r io.Reader = stdin
	shown := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, usageErrorf("read %s: %v", name, err)
		}
		defer f.Close()
		r, shown = f, name
	}
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, usageErrorf("read %s: gzip: %v", shown, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	// A JSON array starts with '['; anything else is read as NDJSON.
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, usageErrorf("read %s: %v", shown, err)
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' {
			_, _ = br.ReadByte()
			continue
		}
		if b[0] == '[' {
			return readArray(br, shown)
		}
		return readNDJSON(br, shown)
	}
}

func readArray(r io.Reader, name string) ([]row, error) {
	var raw []json.RawMessage
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, usageErrorf("%s: not a JSON array of objects: %v", name, err)
	}
	rows := make([]row, 0, len(raw))
	for i, m := range raw {
		origin := fmt.Sprintf("%s[%d]", name, i)
		b, err := compactObject(m)
		if err != nil {
			return nil, usageErrorf("%s: %v", origin, err)
		}
		rows = append(rows, row{b, origin})
	}
	return rows, nil
}

func readNDJSON(r io.Reader, name string) ([]row, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 4<<20)
	var rows []row
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		origin := fmt.Sprintf("%s:%d", name, line)
		b, err := compactObject(text)
		if err != nil {
			return nil, usageErrorf("%s: %v", origin, err)
		}
		rows = append(rows, row{b, origin})
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("read %s: %v (a line longer than 4 MiB?)", name, err)
	}
	return rows, nil
}

// compactObject checks that b is one JSON object and returns it on one line.
func compactObject(b []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, fmt.Errorf("expected a JSON object, got a JSON %s", ute.Value)
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return out.Bytes(), nil
}

// batch is one request's rows.
type batch struct {
	body    []byte
	origins []string
}

func batches(rows []row, size int) []batch {
	var out []batch
	var cur batch
	for _, r := range rows {
		if len(cur.origins) > 0 && (len(cur.origins) >= size || len(cur.body)+len(r.json)+1 > maxBatchBytes) {
			out = append(out, cur)
			cur = batch{}
		}
		cur.body = append(append(cur.body, r.json...), '\n')
		cur.origins = append(cur.origins, r.origin)
	}
	if len(cur.origins) > 0 {
		out = append(out, cur)
	}
	return out
}

// contentKey is the default Idempotency-Key: a hash of what is sent, so the
// same rows pushed again (a re-run CI job) are answered from the ledger.
func contentKey(stream string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(stream))
	h.Write([]byte{0})
	h.Write(body)
	return "kpiflow-push-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// send pushes rows to a stream in batches and prints one line per batch.
func (a *app) send(ctx context.Context, o pushOptions, stream string, rows []row) error {
	stdout, stderr := a.stdout, a.stderr
	bs := batches(rows, o.batchSize)
	if o.dryRun {
		for _, b := range bs {
			if _, err := stdout.Write(b.body); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		fmt.Fprintf(stderr, "dry run: %d row(s) in %d batch(es) for stream %s, nothing sent\n", len(rows), len(bs), stream)
		return nil
	}
	c, uid, err := a.connect(ctx, o.grafana)
	if err != nil {
		return err
	}
	var total ingestResult
	for i, b := range bs {
		key := contentKey(stream, b.body)
		if o.idempotencyKey != "" {
			key = o.idempotencyKey
			if len(bs) > 1 {
				key += "-" + strconv.Itoa(i+1)
			}
		}
		res, err := c.ingest(ctx, uid, stream, b.body, key)
		if err != nil {
			return batchFailure(stream, i, bs, total, err)
		}
		total.Accepted += res.Accepted
		total.Duplicates += res.Duplicates
		fmt.Fprintf(stdout, "%s: batch %d/%d: accepted %d, duplicates %d, batch_id %s, ledger_hash %s\n",
			stream, i+1, len(bs), res.Accepted, res.Duplicates, res.BatchID, res.LedgerHash)
	}
	if len(bs) > 1 {
		fmt.Fprintf(stdout, "%s: done: accepted %d, duplicates %d in %d batches\n", stream, total.Accepted, total.Duplicates, len(bs))
	}
	return nil
}

// batchFailure explains a failed batch: the server's row errors mapped back
// to file and line, and what was already written.
func batchFailure(stream string, i int, bs []batch, done ingestResult, err error) error {
	var msg strings.Builder
	fmt.Fprintf(&msg, "%s: batch %d/%d failed: %v", stream, i+1, len(bs), err)
	var ae *apiError
	if errors.As(err, &ae) && len(ae.Errors) > 0 {
		msg.WriteString("\nrejected rows (nothing of this batch was written):")
		for _, re := range ae.Errors {
			where := fmt.Sprintf("row %d", re.Index)
			if re.Index >= 0 && re.Index < len(bs[i].origins) {
				where = bs[i].origins[re.Index]
			}
			if re.Field != "" {
				where += ": " + re.Field
			}
			fmt.Fprintf(&msg, "\n  %s: %s", where, re.Message)
		}
		if ae.Truncated > 0 {
			fmt.Fprintf(&msg, "\n  ... and %d more", ae.Truncated)
		}
	}
	if i > 0 {
		fmt.Fprintf(&msg, "\nbatches 1-%d were written (accepted %d, duplicates %d); after fixing the input, push all of it again: rows already written are recognised as duplicates",
			i, done.Accepted, done.Duplicates)
	}
	return errors.New(msg.String())
}

// ---- one row from flags ----

const deploymentUsage = `Usage: kpiflow push deployment [flags]

Sends one deployment (stream deployments), typically from the last step of a
deploy job. --commit-sha, --deployment-id and --pipeline default to what the CI
system provides (GitHub Actions, GitLab CI). A deployment sent again with the
same --deployment-id replaces the earlier one.

Examples:
  # GitHub Actions, after the deploy step (if: always()):
  kpiflow push deployment --service api --environment production \
    --result "${{ job.status == 'success' && 'success' || 'failure' }}" \
    --first-commit-at "$(git log -1 --format=%cI ${{ github.event.before }}..${{ github.sha }} --reverse | head -1)"

  # Any CI, all explicit:
  kpiflow push deployment --grafana https://grafana.example.com --token "$KPIFLOW_TOKEN" \
    --datasource kpiflow --service api --team payments --environment production --result success \
    --commit-sha 4f2c... --first-commit-at 2026-11-20T09:12:00Z --finished-at now
`

const pipelineUsage = `Usage: kpiflow push pipeline [flags]

Sends one CI/CD pipeline run (stream pipelines). --run-id and --pipeline default
to what the CI system provides (GitHub Actions, GitLab CI). A run sent again
with the same --run-id replaces the earlier one, so a job can send "running"
at its start and the result at its end.

Examples:
  kpiflow push pipeline --pipeline build --team payments --status running --started-at now
  kpiflow push pipeline --pipeline build --team payments --status success \
    --started-at 2026-11-23T10:00:00Z --finished-at now
  # GitLab CI (CI_PIPELINE_CREATED_AT and CI_PIPELINE_ID are used by default):
  kpiflow push pipeline --team payments --status "$CI_JOB_STATUS"
`

const sampleUsage = `Usage: kpiflow push sample [flags]

Sends one KPI sample (stream kpi), such as a build's duration or coverage.

Examples:
  kpiflow push sample --metric coverage_pct --value 81.4 --team payments --project PAY \
    --label branch=main --label pipeline=build
  kpiflow push sample --metric build_duration_s --value "$SECONDS" --team payments --source ci
`

// labelFlag collects repeated --label k=v.
type labelFlag map[string]string

func (l labelFlag) String() string { return "" }

func (l labelFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("expected key=value, got %q", v)
	}
	l[k] = val
	return nil
}

// timeFlag is a time given as RFC 3339, epoch milliseconds or "now".
type timeFlag struct {
	t   time.Time
	set bool
	now func() time.Time
}

func (f *timeFlag) String() string {
	if !f.set {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(v string) error {
	t, err := parseTime(v, f.now)
	if err != nil {
		return err
	}
	f.t, f.set = t, true
	return nil
}

func parseTime(v string, now func() time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "now":
		return now().UTC().Truncate(time.Second), nil
	case v == "":
		return time.Time{}, errors.New("expected a time: RFC 3339 (2026-11-23T10:00:00Z), epoch milliseconds or now")
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("expected RFC 3339 (2026-11-23T10:00:00Z), epoch milliseconds or now, got %q", v)
	}
	return t.UTC(), nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ciDefaults reads what GitHub Actions and GitLab CI put in the environment.
type ciDefaults struct {
	commitSHA, runID, pipeline, startedAt string
}

func ciFromEnv(getenv env) ciDefaults {
	var d ciDefaults
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		d.commitSHA = getenv("GITHUB_SHA")
		if id := getenv("GITHUB_RUN_ID"); id != "" {
			d.runID = "gh-" + getenv("GITHUB_REPOSITORY") + "-" + id + "-" + cmpOr(getenv("GITHUB_RUN_ATTEMPT"), "1")
		}
		d.pipeline = getenv("GITHUB_WORKFLOW")
	case getenv("GITLAB_CI") == "true":
		d.commitSHA = getenv("CI_COMMIT_SHA")
		if id := getenv("CI_PIPELINE_ID"); id != "" {
			d.runID = "gl-" + id
		}
		d.pipeline = cmpOr(getenv("CI_PROJECT_PATH"), getenv("CI_PROJECT_NAME"))
		d.startedAt = getenv("CI_PIPELINE_CREATED_AT")
	}
	return d
}

func (a *app) pushOne(ctx context.Context, what string, args []string) error {
	stderr := a.stderr
	now := a.now
	ci := ciFromEnv(a.getenv)
	var o pushOptions
	var obj map[string]any
	var validate func() error
	var usage string
	var fs *flag.FlagSet

	switch what {
	case "deployment":
		usage = deploymentUsage
		fs = newFlagSet("push deployment", usage, stderr)
		var service, team, environment, result, sha, pipeline, id string
		finished := timeFlag{now: now}
		first := timeFlag{now: now}
		fs.StringVar(&service, "service", "", "service deployed (required)")
		fs.StringVar(&team, "team", "", "team owning the service")
		fs.StringVar(&environment, "environment", "production", "environment deployed to")
		fs.StringVar(&result, "result", schema.ResultSuccess, oneOf(schema.DeploymentResults()))
		fs.StringVar(&sha, "commit-sha", ci.commitSHA, "commit deployed (default: GITHUB_SHA or CI_COMMIT_SHA)")
		fs.Var(&first, "first-commit-at", "time of the oldest commit in this deployment, for lead time (RFC 3339, epoch ms)")
		fs.Var(&finished, "finished-at", "when the deployment finished (default now)")
		fs.StringVar(&pipeline, "pipeline", ci.pipeline, "pipeline that deployed (default: GITHUB_WORKFLOW or CI_PROJECT_PATH)")
		fs.StringVar(&id, "deployment-id", "", "unique id of this deployment (default: from the CI run, or a hash of service, environment, commit and finish time)")
		validate = func() error {
			if service == "" {
				return usageErrorf("--service: required: the service deployed")
			}
			if !slices.Contains(schema.DeploymentResults(), result) {
				return usageErrorf("--result: expected %s, got %q", oneOf(schema.DeploymentResults()), result)
			}
			if !finished.set {
				finished.t = now().UTC().Truncate(time.Second)
			}
			if first.set && first.t.After(finished.t) {
				return usageErrorf("--first-commit-at: %s is after --finished-at %s", rfc3339(first.t), rfc3339(finished.t))
			}
			if id == "" {
				if ci.runID != "" {
					id = ci.runID + "-" + service + "-" + environment
				} else {
					id = "dep-" + shortHash(service, environment, sha, rfc3339(finished.t))
				}
			}
			obj = map[string]any{
				"finished_at": rfc3339(finished.t), "deployment_id": id, "service": service, "team": team,
				"environment": environment, "result": result, "commit_sha": sha, "pipeline": pipeline,
			}
			if first.set {
				obj["first_commit_at"] = rfc3339(first.t)
			}
			return nil
		}
	case "pipeline":
		usage = pipelineUsage
		fs = newFlagSet("push pipeline", usage, stderr)
		var pipeline, team, status, id string
		started := timeFlag{now: now}
		finished := timeFlag{now: now}
		fs.StringVar(&pipeline, "pipeline", ci.pipeline, "pipeline name (required; default: GITHUB_WORKFLOW or CI_PROJECT_PATH)")
		fs.StringVar(&team, "team", "", "team owning the pipeline")
		fs.StringVar(&status, "status", "", oneOf(schema.PipelineStatuses())+" (required); GitLab's \"failed\" and \"canceled\" are accepted")
		fs.StringVar(&id, "run-id", ci.runID, "unique id of the run (default: GITHUB_RUN_ID with attempt, or CI_PIPELINE_ID)")
		fs.Var(&started, "started-at", "when the run started (required unless CI_PIPELINE_CREATED_AT is set)")
		fs.Var(&finished, "finished-at", "when the run finished (default now; not sent for running)")
		validate = func() error {
			if pipeline == "" {
				return usageErrorf("--pipeline: required: the pipeline's name")
			}
			// GitLab's spellings.
			switch status {
			case "failed":
				status = schema.StatusFailure
			case "canceled":
				status = schema.StatusCancelled
			}
			if !slices.Contains(schema.PipelineStatuses(), status) {
				return usageErrorf("--status: expected %s, got %q", oneOf(schema.PipelineStatuses()), status)
			}
			if !started.set {
				if ci.startedAt == "" {
					return usageErrorf("--started-at: required: when the run started (RFC 3339, epoch ms or now)")
				}
				if err := started.Set(ci.startedAt); err != nil {
					return usageErrorf("CI_PIPELINE_CREATED_AT: %v", err)
				}
			}
			obj = map[string]any{"pipeline": pipeline, "team": team, "status": status, "started_at": rfc3339(started.t)}
			if status != schema.StatusRunning {
				if !finished.set {
					finished.t = now().UTC().Truncate(time.Second)
				}
				if finished.t.Before(started.t) {
					return usageErrorf("--finished-at: %s is before --started-at %s", rfc3339(finished.t), rfc3339(started.t))
				}
				obj["finished_at"] = rfc3339(finished.t)
			}
			if id == "" {
				id = "run-" + shortHash(pipeline, team, rfc3339(started.t))
			}
			obj["run_id"] = id
			return nil
		}
	default: // sample
		usage = sampleUsage
		fs = newFlagSet("push sample", usage, stderr)
		var metric, value, team, project, service, environment, source string
		ts := timeFlag{now: now}
		labels := labelFlag{}
		fs.StringVar(&metric, "metric", "", "metric name (required)")
		fs.StringVar(&value, "value", "", "value, a number (required)")
		fs.Var(&ts, "ts", "time of the sample (default now)")
		fs.StringVar(&team, "team", "", "team")
		fs.StringVar(&project, "project", "", "project")
		fs.StringVar(&service, "service", "", "service")
		fs.StringVar(&environment, "environment", "", "environment")
		fs.StringVar(&source, "source", "ci", "source of the sample")
		fs.Var(labels, "label", "label key=value (repeatable)")
		validate = func() error {
			if metric == "" {
				return usageErrorf("--metric: required: the metric's name")
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return usageErrorf("--value: expected a finite number, got %q", value)
			}
			if !ts.set {
				ts.t = now().UTC().Truncate(time.Second)
			}
			obj = map[string]any{"ts": rfc3339(ts.t), "metric": metric, "value": v, "team": team, "project": project,
				"service": service, "environment": environment, "source": source}
			if len(labels) > 0 {
				obj["labels"] = map[string]string(labels)
			}
			return nil
		}
	}
	addPushFlags(fs, &o)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("push %s: unexpected argument %q (everything is given with flags)", what, rest[0])
	}
	o.grafana.fromEnv(a.getenv)
	if err := validate(); err != nil {
		return err
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode the %s: %w", what, err)
	}
	stream := map[string]string{"deployment": "deployments", "pipeline": "pipelines", "sample": "kpi"}[what]
	return a.send(ctx, o, stream, []row{{json: b, origin: "flags"}})
}

// oneOf lists allowed values for a message: "a, b or c".
func oneOf(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}
