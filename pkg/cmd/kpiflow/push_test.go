package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

const goodDeployments = `{"finished_at":"2026-11-20T10:00:00Z","deployment_id":"d1","service":"api","environment":"production","result":"success","commit_sha":"abc"}
{"finished_at":1795168800000,"deployment_id":"d2","service":"api","environment":"production","result":"failure"}
`

func TestPushFiles(t *testing.T) {
	g := newFakeGrafana(t)
	conn := func(extra ...string) []string {
		return append([]string{"--grafana", g.srv.URL, "--token", g.token, "--datasource", g.uid}, extra...)
	}

	t.Run("NDJSON file, gzip on the wire", func(t *testing.T) {
		ta := newTestApp("")
		f := writeFile(t, "deploys.ndjson", []byte(goodDeployments))
		code := ta.exec(append([]string{"push", "deployments", f}, conn()...)...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		require.Contains(t, ta.out.String(), "deployments: batch 1/1: accepted 2, duplicates 0")
		calls := g.calls()
		last := calls[len(calls)-1]
		require.Equal(t, "application/x-ndjson", last.contentType)
		require.Equal(t, "gzip", last.encoding)
		require.Regexp(t, `^kpiflow-push-[0-9a-f]{32}$`, last.key)

		t.Run("pushed again: the same key, answered from the ledger", func(t *testing.T) {
			ta := newTestApp("")
			require.Equal(t, exitOK, ta.exec(append([]string{"push", "deployments", f}, conn()...)...), ta.errOut.String())
			calls2 := g.calls()
			require.Equal(t, last.key, calls2[len(calls2)-1].key)
			require.Len(t, g.stored("deployments"), 2)
		})
	})

	t.Run("JSON array from gzip stdin, flags after the stream, env credentials, batches", func(t *testing.T) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(`[{"ts":"2026-11-20T10:00:00Z","metric":"m","value":1},{"ts":"2026-11-20T10:01:00Z","metric":"m","value":2},
			{"ts":"2026-11-20T10:02:00Z","metric":"m","value":3}]`))
		require.NoError(t, zw.Close())
		ta := newTestApp(gz.String())
		ta.env["KPIFLOW_GRAFANA_URL"] = g.srv.URL
		ta.env["KPIFLOW_TOKEN"] = g.token
		ta.env["KPIFLOW_DATASOURCE_NAME"] = g.name
		before := len(g.calls())
		code := ta.exec("push", "kpi", "-", "--batch-size", "2", "--idempotency-key", "job-42")
		require.Equal(t, exitOK, code, ta.errOut.String())
		calls := g.calls()[before:]
		require.Len(t, calls, 2)
		require.Equal(t, "job-42-1", calls[0].key)
		require.Equal(t, "job-42-2", calls[1].key)
		require.Equal(t, 2, calls[0].rows)
		require.Contains(t, ta.out.String(), "kpi: done: accepted 3, duplicates 0 in 2 batches")
	})

	t.Run("503 then 200: retried under the same key, honouring Retry-After", func(t *testing.T) {
		g.fail = []int{http.StatusServiceUnavailable, -1, http.StatusServiceUnavailable}
		ta := newTestApp(`{"team":"t1","parent":"","display_name":"Team 1"}`)
		before := len(g.calls())
		code := ta.exec(append([]string{"push", "teams"}, conn()...)...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		calls := g.calls()[before:]
		require.Len(t, calls, 4, "three failures, then the answer")
		for _, c := range calls {
			require.Equal(t, calls[0].key, c.key, "one idempotency key for every attempt")
		}
		require.Len(t, ta.slept, 3)
		require.Equal(t, 3*time.Second, ta.slept[0], "Retry-After: 3 is longer than the first backoff")
		require.Less(t, ta.slept[1], 3*time.Second, "a dropped connection backs off exponentially")
		require.Contains(t, ta.errOut.String(), "attempt 1 of 6 failed (503 Service Unavailable); retrying in 3s")
		require.Contains(t, ta.errOut.String(), "attempt 2 of 6 failed")
		require.Contains(t, ta.out.String(), "teams: batch 1/1: accepted 1")
	})

	t.Run("retries run out", func(t *testing.T) {
		g.fail = []int{503, 503, 503}
		ta := newTestApp(`{"team":"t2"}`)
		code := ta.exec(append([]string{"push", "teams"}, conn("--retries", "2")...)...)
		require.Equal(t, exitFailed, code)
		t.Log(ta.errOut.String())
		require.Contains(t, ta.errOut.String(), "503 Service Unavailable: injected Service Unavailable")
		require.Contains(t, ta.errOut.String(), "gave up after 3 attempts")
		require.Contains(t, ta.errOut.String(), "hint: ClickHouse cannot take writes")
		require.Len(t, ta.slept, 2)
	})

	t.Run("400: the server's errors by file and line, no retry", func(t *testing.T) {
		f := writeFile(t, "bad.ndjson", []byte(goodDeployments+"\n"+
			`{"finished_at":"yesterday","deployment_id":"d3","result":"sideways"}`+"\n"))
		ta := newTestApp("")
		before := len(g.calls())
		code := ta.exec(append([]string{"push", "deployments", f}, conn()...)...)
		require.Equal(t, exitFailed, code)
		require.Len(t, g.calls()[before:], 1)
		require.Empty(t, ta.slept)
		msg := ta.errOut.String()
		t.Log(msg)
		require.Contains(t, msg, "400 Bad Request")
		require.Contains(t, msg, "rejected rows (nothing of this batch was written):")
		require.Contains(t, msg, "bad.ndjson:4: finished_at: ")
		require.Contains(t, msg, "bad.ndjson:4: result: ")
	})

	t.Run("401 says what to check", func(t *testing.T) {
		ta := newTestApp(`{"team":"t3"}`)
		code := ta.exec("push", "teams", "--grafana", g.srv.URL, "--token", "wrong", "--datasource", g.uid)
		require.Equal(t, exitFailed, code)
		require.Contains(t, ta.errOut.String(), "401 Unauthorized: Unauthorized")
		require.Contains(t, ta.errOut.String(), "check --token")
		require.Empty(t, ta.slept)
	})

	t.Run("the only kpiflow data source is found, basic auth", func(t *testing.T) {
		ta := newTestApp(`{"team":"t4"}`)
		code := ta.exec("push", "teams", "--grafana", g.srv.URL+"/", "--user", "admin", "--password", "admin")
		require.Equal(t, exitOK, code, ta.errOut.String())
	})
}

func TestPushOne(t *testing.T) {
	g := newFakeGrafana(t)
	conn := []string{"--grafana", g.srv.URL, "--token", g.token, "--datasource", g.uid}

	t.Run("deployment", func(t *testing.T) {
		ta := newTestApp("")
		code := ta.exec(append([]string{"push", "deployment", "--service", "api", "--team", "payments", "--result", "rollback",
			"--commit-sha", "4f2c", "--first-commit-at", "2026-11-20T09:12:00Z", "--finished-at", "1795172400000"}, conn...)...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		rows := g.stored("deployments")
		require.Len(t, rows, 1)
		r := rows[0]
		require.Equal(t, "api", r["service"])
		require.Equal(t, "production", r["environment"])
		require.Equal(t, "rollback", r["result"])
		require.Equal(t, "2026-11-20T09:12:00Z", r["first_commit_at"])
		require.Equal(t, "2026-11-20T11:00:00Z", r["finished_at"])
		require.Regexp(t, `^dep-[0-9a-f]{16}$`, r["deployment_id"])
	})

	t.Run("deployment in GitHub Actions", func(t *testing.T) {
		ta := newTestApp("")
		for k, v := range map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abc123", "GITHUB_RUN_ID": "99",
			"GITHUB_RUN_ATTEMPT": "2", "GITHUB_REPOSITORY": "acme/api", "GITHUB_WORKFLOW": "deploy"} {
			ta.env[k] = v
		}
		code := ta.exec(append([]string{"push", "deployment", "--service", "api"}, conn...)...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		r := g.stored("deployments")[1]
		require.Equal(t, "gh-acme/api-99-2-api-production", r["deployment_id"])
		require.Equal(t, "abc123", r["commit_sha"])
		require.Equal(t, "deploy", r["pipeline"])
		require.Equal(t, "2026-11-23T12:00:00Z", r["finished_at"], "finished now")
		require.NotContains(t, r, "first_commit_at")
	})

	t.Run("pipeline in GitLab CI", func(t *testing.T) {
		ta := newTestApp("")
		for k, v := range map[string]string{"GITLAB_CI": "true", "CI_PIPELINE_ID": "7", "CI_PROJECT_PATH": "acme/web",
			"CI_PIPELINE_CREATED_AT": "2026-11-23T11:50:00Z"} {
			ta.env[k] = v
		}
		code := ta.exec(append([]string{"push", "pipeline", "--team", "web", "--status", "failed"}, conn...)...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		r := g.stored("pipelines")[0]
		require.Equal(t, map[string]any{"run_id": "gl-7", "pipeline": "acme/web", "team": "web", "status": "failure",
			"started_at": "2026-11-23T11:50:00Z", "finished_at": "2026-11-23T12:00:00Z"}, r)
	})

	t.Run("running pipeline has no finish", func(t *testing.T) {
		ta := newTestApp("")
		code := ta.exec(append([]string{"push", "pipeline", "--pipeline", "build", "--status", "running", "--started-at", "now"}, conn...)...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		r := g.stored("pipelines")[1]
		require.NotContains(t, r, "finished_at")
		require.Equal(t, "running", r["status"])
	})

	t.Run("sample", func(t *testing.T) {
		ta := newTestApp("")
		code := ta.exec(append([]string{"push", "sample", "--metric", "coverage_pct", "--value", "81.5", "--team", "web",
			"--label", "branch=main", "--label", "pipeline=build"}, conn...)...)
		require.Equal(t, exitOK, code, ta.errOut.String())
		r := g.stored("kpi")[0]
		require.Equal(t, 81.5, r["value"])
		require.Equal(t, map[string]any{"branch": "main", "pipeline": "build"}, r["labels"])
	})
}

func TestPushUsageErrors(t *testing.T) {
	f := writeFile(t, "rows.ndjson", []byte("{\"a\":1}\n[1]\n"))
	arr := writeFile(t, "rows.json", []byte(`[{"a":1}, 2]`))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no stream", []string{"push"}, "push: name a stream"},
		{"unknown stream", []string{"push", "metrics"}, `push: unknown stream "metrics"`},
		{"no grafana", []string{"push", "deployment", "--service", "api", "--token", "x"}, "--grafana: required"},
		{"no token", []string{"push", "deployment", "--service", "api", "--grafana", "http://g"}, "--token: required"},
		{"both auths", []string{"push", "deployment", "--service", "api", "--grafana", "http://g", "--token", "t", "--user", "u"}, "give one"},
		{"bad url", []string{"push", "deployment", "--service", "api", "--grafana", "grafana:3000", "--token", "t"}, "--grafana: expected an http or https URL"},
		{"no service", []string{"push", "deployment"}, "--service: required"},
		{"bad result", []string{"push", "deployment", "--service", "a", "--result", "ok"}, `--result: expected success, failure, rollback or cancelled, got "ok"`},
		{"bad time", []string{"push", "deployment", "--service", "a", "--finished-at", "yesterday"}, `invalid value "yesterday" for flag -finished-at: expected RFC 3339`},
		{"first commit after finish", []string{"push", "deployment", "--service", "a", "--first-commit-at", "2026-11-24T00:00:00Z"}, "--first-commit-at: 2026-11-24T00:00:00Z is after --finished-at"},
		{"pipeline without start", []string{"push", "pipeline", "--pipeline", "b", "--status", "success"}, "--started-at: required"},
		{"pipeline bad status", []string{"push", "pipeline", "--pipeline", "b", "--status", "ok"}, "--status: expected success, failure, cancelled or running"},
		{"sample bad value", []string{"push", "sample", "--metric", "m", "--value", "NaN"}, `--value: expected a finite number, got "NaN"`},
		{"bad label", []string{"push", "sample", "--metric", "m", "--value", "1", "--label", "x"}, `expected key=value, got "x"`},
		{"not an object in NDJSON", []string{"push", "kpi", f}, "rows.ndjson:2: expected a JSON object, got a JSON array"},
		{"not an object in an array", []string{"push", "kpi", arr}, "rows.json[1]: expected a JSON object, got a JSON number"},
		{"missing file", []string{"push", "kpi", "/nonexistent/x.json"}, "read /nonexistent/x.json"},
		{"extra argument", []string{"push", "deployment", "--service", "a", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestApp("")
			code := ta.exec(tt.args...)
			require.Equal(t, exitUsage, code, ta.errOut.String())
			require.Contains(t, ta.errOut.String(), tt.want)
		})
	}
}

func TestPushDryRun(t *testing.T) {
	ta := newTestApp("[{\"metric\": \"m\",\n \"value\": 1, \"ts\": 1}]")
	require.Equal(t, exitOK, ta.exec("push", "kpi", "--dry-run"))
	require.Equal(t, `{"metric":"m","value":1,"ts":1}`+"\n", ta.out.String())
	require.Contains(t, ta.errOut.String(), "nothing sent")
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"push", "--help"}, {"help", "push"}, {"demo", "--help"}, {"push", "deployment", "-h"}} {
		ta := newTestApp("")
		require.Equal(t, exitOK, ta.exec(args...), "%v", args)
		require.Contains(t, ta.out.String()+ta.errOut.String(), "Examples", "%v", args)
	}
	ta := newTestApp("")
	require.Equal(t, exitUsage, ta.exec())
	require.Equal(t, exitUsage, ta.exec("nope"))
}

func TestBackoff(t *testing.T) {
	c := &client{baseDelay: 500 * time.Millisecond, maxBackoff: 10 * time.Second}
	for _, tt := range []struct {
		attempt  int
		jitter   float64
		min, max time.Duration
	}{
		{0, 0, 250 * time.Millisecond, 250 * time.Millisecond},
		{0, 0.999, 250 * time.Millisecond, 500 * time.Millisecond},
		{3, 0.5, 3 * time.Second, 3 * time.Second},
		{10, 0.999, 5 * time.Second, 10 * time.Second},
		{1000, 0, 5 * time.Second, 5 * time.Second},
	} {
		c.jitter = func() float64 { return tt.jitter }
		d := c.backoff(tt.attempt)
		require.GreaterOrEqual(t, d, tt.min, "attempt %d", tt.attempt)
		require.LessOrEqual(t, d, tt.max, "attempt %d", tt.attempt)
	}
}

func TestRetryAfter(t *testing.T) {
	require.Equal(t, 7*time.Second, retryAfter("7"))
	require.Equal(t, time.Duration(0), retryAfter(""))
	require.Equal(t, time.Duration(0), retryAfter("soon"))
	require.Equal(t, time.Duration(0), retryAfter("Mon, 02 Jan 2006 15:04:05 GMT"), "a date in the past")
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	require.Greater(t, retryAfter(future), 50*time.Minute)
}

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{400: false, 401: false, 403: false, 404: false, 413: false, 429: true, 500: false, 502: true, 503: true, 504: true} {
		require.Equal(t, want, (&apiError{Status: status}).retryable(), "%d", status)
	}
	require.True(t, (&apiError{Err: errors.New("connection reset")}).retryable())
	require.False(t, (&apiError{Err: context.Canceled}).retryable())
}

func TestReadRowsFuzzSeeds(t *testing.T) {
	// Input that is not JSON must be a usage error, never a panic.
	for _, in := range []string{"", "   ", "[", "[]", "{", "{}\n{", "null", "\x1f\x8b", "[{}]x", "{\"a\":1}\n\n\n{\"b\":2}"} {
		_, err := readRows("-", bytes.NewReader([]byte(in)))
		if err != nil {
			var ue *usageError
			require.ErrorAs(t, err, &ue, "%q", in)
		}
	}
}

func FuzzReadRows(f *testing.F) {
	for _, s := range []string{`[{"a":1}]`, "{\"a\":1}\n{\"b\":2}\n", "[1]", "{", "\x1f\x8b\x08"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rows, err := readRows("-", bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			require.NotEmpty(t, r.origin)
			require.NotContains(t, string(r.json), "\n")
		}
	})
}
