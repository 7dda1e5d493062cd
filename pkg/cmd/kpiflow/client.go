package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// grafanaFlags are the flags every subcommand that talks to Grafana shares.
type grafanaFlags struct {
	url            string
	token          string
	user           string
	password       string
	datasource     string
	datasourceName string
	retries        int
	maxBackoff     time.Duration
	timeout        time.Duration
	wait           time.Duration
}

// client speaks to the ingest API through Grafana's data source resource
// proxy: POST <grafana>/api/datasources/uid/<uid>/resources/ingest/<stream>.
type client struct {
	base     *url.URL
	token    string
	user     string
	password string
	http     *http.Client
	// retries is how many times a request is sent again after a retryable
	// failure (503, 429, 502, 504 or a network error).
	retries    int
	baseDelay  time.Duration
	maxBackoff time.Duration
	// sleep waits d or until ctx ends; tests replace it to run without waiting.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a number in [0, 1).
	jitter func() float64
	log    io.Writer
}

func newClient(f grafanaFlags, log io.Writer, sleep func(context.Context, time.Duration) error) (*client, error) {
	if f.url == "" {
		return nil, usageErrorf("--grafana: required: Grafana's URL, such as https://grafana.example.com (or set KPIFLOW_GRAFANA_URL)")
	}
	u, err := url.Parse(strings.TrimRight(f.url, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--grafana: expected an http or https URL such as https://grafana.example.com, got %q", f.url)
	}
	if f.token != "" && f.user != "" {
		return nil, usageErrorf("--token and --user: give one, a service account token or a user with --password")
	}
	if f.token == "" && f.user == "" {
		return nil, usageErrorf("--token: required: a Grafana service account token with the Editor role (or set KPIFLOW_TOKEN), or --user and --password")
	}
	if f.retries < 0 {
		return nil, usageErrorf("--retries: expected 0 or more, got %d", f.retries)
	}
	if f.maxBackoff <= 0 {
		return nil, usageErrorf("--max-backoff: expected a positive duration, got %s", f.maxBackoff)
	}
	if f.timeout <= 0 {
		return nil, usageErrorf("--timeout: expected a positive duration, got %s", f.timeout)
	}
	return &client{
		base: u, token: f.token, user: f.user, password: f.password,
		http:    &http.Client{Timeout: f.timeout},
		retries: f.retries, baseDelay: 500 * time.Millisecond, maxBackoff: f.maxBackoff,
		sleep:  sleep,
		jitter: rand.Float64,
		log:    log,
	}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ingestResult is the ingest API's 200 answer.
type ingestResult struct {
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
	BatchID    string `json:"batch_id"`
	LedgerHash string `json:"ledger_hash"`
}

// rowError is one entry of a 400 answer's errors.
type rowError struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is a non-2xx answer, or a failure to get one.
type apiError struct {
	Method, URL string
	Status      int // 0 when no answer came
	Message     string
	Errors      []rowError
	Truncated   int
	RetryAfter  time.Duration
	Err         error // the transport error when Status is 0
	// Attempts is how many times the request was sent, when more than once.
	Attempts int
}

func (e *apiError) Error() string {
	attempts := ""
	if e.Attempts > 1 {
		attempts = fmt.Sprintf(" (gave up after %d attempts)", e.Attempts)
	}
	if e.Status == 0 {
		return fmt.Sprintf("%s %s: %v%s", e.Method, e.URL, e.Err, attempts)
	}
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if n := len(e.Errors) + e.Truncated; n > 0 {
		msg += fmt.Sprintf(" (%d invalid field(s))", n)
	}
	msg += attempts
	if hint := e.hint(); hint != "" {
		msg += "\n  " + hint
	}
	return msg
}

func (e *apiError) Unwrap() error { return e.Err }

// hint says what to change for the statuses a user can fix.
func (e *apiError) hint() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "hint: Grafana did not accept the credentials: check --token (a service account token, glsa_...) or --user/--password"
	case http.StatusForbidden:
		return "hint: the caller's Grafana role is too low: ingest needs the data source's ingest role (Editor by default); give the service account that role"
	case http.StatusNotFound:
		return "hint: check --grafana (including any sub path) and --datasource (the kpiflow data source's UID, see its settings page URL)"
	case http.StatusConflict:
		return "hint: --idempotency-key was used before for other data: give new data a new key, or leave the flag out (the default key is derived from the batch)"
	case http.StatusRequestEntityTooLarge:
		return "hint: the batch is over the server's limits: lower --batch-size"
	case http.StatusServiceUnavailable:
		return "hint: ClickHouse cannot take writes right now; try again later, or raise --retries and --max-backoff"
	}
	return ""
}

// retryable reports whether sending the same request again may succeed.
// Every retry carries the same Idempotency-Key, so a request that did reach
// the server is never applied twice. 502 and 504 come from proxies in front
// of Grafana and are as transient as 503.
func (e *apiError) retryable() bool {
	switch e.Status {
	case 0:
		return !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded)
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// resourceURL is the URL of a data source resource path.
func (c *client) resourceURL(uid, path string) string {
	return c.url("/api/datasources/uid/" + url.PathEscape(uid) + "/resources/" + path)
}

func (c *client) url(path string) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	return u.String()
}

func (c *client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else {
		req.SetBasicAuth(c.user, c.password)
	}
	req.Header.Set("User-Agent", "kpiflow-cli")
}

// ingest sends one NDJSON body to a stream, retrying with backoff under one
// idempotency key.
func (c *client) ingest(ctx context.Context, uid, stream string, ndjson []byte, key string) (ingestResult, error) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(ndjson); err != nil {
		return ingestResult{}, fmt.Errorf("compress the %s batch: %w", stream, err)
	}
	if err := zw.Close(); err != nil {
		return ingestResult{}, fmt.Errorf("compress the %s batch: %w", stream, err)
	}
	target := c.resourceURL(uid, "ingest/"+stream)
	var res ingestResult
	err := c.retry(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(gz.Bytes()))
		if err != nil {
			return fmt.Errorf("build request to %s: %w", target, err)
		}
		c.authorize(req)
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Idempotency-Key", key)
		return c.do(req, &res)
	})
	return res, err
}

// retry calls send until it succeeds, fails for good, or the retries are
// spent, waiting between attempts with exponential backoff and jitter, or as
// long as the server's Retry-After asks (both capped at maxBackoff).
func (c *client) retry(ctx context.Context, send func() error) error {
	for attempt := 0; ; attempt++ {
		err := send()
		var ae *apiError
		if err == nil || !errors.As(err, &ae) || !ae.retryable() || attempt >= c.retries {
			if ae != nil {
				ae.Attempts = attempt + 1
			}
			return err
		}
		wait := c.backoff(attempt)
		if ae.RetryAfter > wait {
			wait = min(ae.RetryAfter, c.maxBackoff)
		}
		fmt.Fprintf(c.log, "attempt %d of %d failed (%s); retrying in %s\n", attempt+1, c.retries+1, ae.short(), wait.Round(10*time.Millisecond))
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w (stopped retrying: %w)", ae, err)
		}
	}
}

func (e *apiError) short() string {
	if e.Status == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
}

// backoff is the wait before retry attempt+1: exponential from baseDelay,
// capped, with "equal jitter" (half fixed, half random) so that many CI jobs
// failing together do not retry in step.
func (c *client) backoff(attempt int) time.Duration {
	d := float64(c.baseDelay) * math.Pow(2, float64(min(attempt, 30)))
	d = min(d, float64(c.maxBackoff))
	return time.Duration(d/2 + c.jitter()*d/2)
}

// do sends req and decodes a 2xx JSON answer into out (when not nil), or
// returns an *apiError.
func (c *client) do(req *http.Request, out any) error {
	shown := redact(req.URL)
	resp, err := c.http.Do(req)
	if err != nil {
		return &apiError{Method: req.Method, URL: shown, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return &apiError{Method: req.Method, URL: shown, Err: fmt.Errorf("read the answer: %w", err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: %d, but the answer is not the expected JSON (is --grafana Grafana's URL?): %w: %.200q",
				req.Method, shown, resp.StatusCode, err, body)
		}
		return nil
	}
	ae := &apiError{Method: req.Method, URL: shown, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var decoded struct {
		Errors    []rowError `json:"errors"`
		Truncated int        `json:"truncated"`
		Error     string     `json:"error"`
		Message   string     `json:"message"`
	}
	if json.Unmarshal(body, &decoded) == nil {
		ae.Errors, ae.Truncated = decoded.Errors, decoded.Truncated
		ae.Message = cmpOr(decoded.Error, decoded.Message)
	} else {
		ae.Message = strings.TrimSpace(string(body))
		if len(ae.Message) > 300 {
			ae.Message = ae.Message[:300] + "..."
		}
	}
	return ae
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// redact drops credentials a user may have put in the URL.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// getJSON GETs a Grafana API path into out, without retries.
func (c *client) getJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path), nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	c.authorize(req)
	req.Header.Set("Accept", "application/json")
	return c.do(req, out)
}

// postJSON POSTs to a data source resource, with retries.
func (c *client) postResource(ctx context.Context, uid, path string, out any) error {
	return c.retry(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.resourceURL(uid, path), strings.NewReader("{}"))
		if err != nil {
			return fmt.Errorf("build request: %w", err)
		}
		c.authorize(req)
		req.Header.Set("Content-Type", "application/json")
		return c.do(req, out)
	})
}

// dataSourceType is the kpiflow data source's plugin id.
const dataSourceType = "kpiflow-clickhouse-datasource"

// resolveDataSource returns the data source UID: the one given, else the one
// with the given name (GET /api/datasources/name/<name>), else the only
// kpiflow data source in the organisation.
func (c *client) resolveDataSource(ctx context.Context, uid, name string) (string, error) {
	if uid != "" {
		return uid, nil
	}
	if name != "" {
		var ds struct {
			UID  string `json:"uid"`
			Type string `json:"type"`
		}
		if err := c.getJSON(ctx, "/api/datasources/name/"+url.PathEscape(name), &ds); err != nil {
			return "", fmt.Errorf("look up the data source named %q: %w", name, err)
		}
		if ds.Type != "" && ds.Type != dataSourceType {
			return "", fmt.Errorf("the data source named %q is of type %s, not %s", name, ds.Type, dataSourceType)
		}
		return ds.UID, nil
	}
	var list []struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := c.getJSON(ctx, "/api/datasources", &list); err != nil {
		return "", fmt.Errorf("list data sources to find the kpiflow one (or pass --datasource UID or --datasource-name): %w", err)
	}
	var found []string
	for _, ds := range list {
		if ds.Type == dataSourceType {
			found = append(found, ds.UID)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("--datasource: no %s data source in this Grafana organisation: add one, or pass --datasource UID", dataSourceType)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("--datasource: %d kpiflow data sources (%s): pass --datasource UID or --datasource-name", len(found), strings.Join(found, ", "))
}

// dsHealth is the data source's health check as Grafana's API reports it.
type dsHealth struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Details struct {
		Schema string `json:"schema"`
	} `json:"details"`
}

func (c *client) health(ctx context.Context, uid string) (dsHealth, error) {
	var h dsHealth
	err := c.getJSON(ctx, "/api/datasources/uid/"+url.PathEscape(uid)+"/health", &h)
	return h, err
}

// waitReady waits, for at most wait, until Grafana answers /api/health, the
// data source can be found, and its health check passes; it returns the
// data source's UID. With wait 0 it only resolves the data source.
func (c *client) waitReady(ctx context.Context, f grafanaFlags) (string, error) {
	if f.wait <= 0 {
		return c.resolveDataSource(ctx, f.datasource, f.datasourceName)
	}
	ctx, cancel := context.WithTimeout(ctx, f.wait)
	defer cancel()
	var last error
	step := func(what string, fn func() error) error {
		for {
			err := fn()
			if err == nil {
				return nil
			}
			if errors.Is(err, context.Canceled) {
				return err
			}
			if last == nil || last.Error() != err.Error() {
				fmt.Fprintf(c.log, "waiting for %s: %v\n", what, err)
			}
			last = err
			if c.sleep(ctx, 2*time.Second) != nil {
				return fmt.Errorf("gave up waiting for %s after %s: %w", what, f.wait, last)
			}
		}
	}
	if err := step("Grafana", func() error {
		var h struct {
			Database string `json:"database"`
		}
		if err := c.getJSON(ctx, "/api/health", &h); err != nil {
			return err
		}
		if h.Database != "" && h.Database != "ok" {
			return fmt.Errorf("Grafana's database is %q", h.Database)
		}
		return nil
	}); err != nil {
		return "", err
	}
	var uid string
	if err := step("the data source", func() (err error) {
		uid, err = c.resolveDataSource(ctx, f.datasource, f.datasourceName)
		return err
	}); err != nil {
		return "", err
	}
	if err := step("the data source's health check", func() error {
		h, err := c.health(ctx, uid)
		if err != nil {
			return err
		}
		if h.Status != "" && h.Status != "OK" {
			return fmt.Errorf("%s: %s", h.Status, h.Message)
		}
		return nil
	}); err != nil {
		return "", err
	}
	return uid, nil
}
