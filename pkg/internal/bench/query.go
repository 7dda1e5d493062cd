package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// caseResult is one case's figures.
type caseResult struct {
	c          queryCase
	rows       int   // rows in the plugin's frames
	rawRows    int   // rows the baseline read
	bytes      int64 // Arrow bytes of the plugin's frames
	frames     int
	plugin     []time.Duration
	faults     []int64 // the plugin's minor page faults during each timed call
	pluginCPU  []time.Duration
	raw        []time.Duration
	rawCPU     []time.Duration // this process's CPU time reading the baseline
	peak, base int64           // plugin's VmHWM during the case, and its RSS before
}

func (b *bench) queryMode(ctx context.Context) error {
	b.logf("query mode: %d rounds per case; load average %s", b.cfg.rounds, loadAverage())
	var results []caseResult
	for _, c := range queryCases(b.cfg.smoke) {
		if !b.cfg.cases.MatchString(c.name) {
			continue
		}
		d := b.dataset(c.dataset)
		if d == nil {
			continue
		}
		r, err := b.runCase(ctx, d, c)
		if err != nil {
			return fmt.Errorf("case %q: %w", c.name, err)
		}
		results = append(results, r)
		fmt.Fprintf(b.out, "# %-40s %s\n", c.name, r.summary())
	}
	b.printResults(results)
	if b.cfg.idle > 0 && len(results) > 0 {
		if err := b.afterIdle(ctx, results[len(results)-1]); err != nil {
			return err
		}
	}
	b.logf("load average %s", loadAverage())
	return nil
}

func (b *bench) dataset(name string) *dataset {
	for _, d := range b.sets {
		if d.name == name {
			return d
		}
	}
	return nil
}

func (b *bench) request(d *dataset, queries ...backend.DataQuery) *pluginv2.QueryDataRequest {
	return backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
		PluginContext: d.ds.PluginContext(),
		Headers:       benchHeaders(),
		Queries:       queries,
	})
}

// benchHeaders are the request headers Grafana sends for a dashboard panel.
func benchHeaders() map[string]string {
	return map[string]string{"http_X-Dashboard-Uid": "bench", "http_X-Panel-Id": "1"}
}

// pluginCall is one timed QueryData call.
func (b *bench) pluginCall(ctx context.Context, req *pluginv2.QueryDataRequest) (*pluginv2.QueryDataResponse, time.Duration, error) {
	t0 := time.Now()
	resp, err := b.plugin.Data.QueryData(ctx, req)
	return resp, time.Since(t0), err
}

func (b *bench) runCase(ctx context.Context, d *dataset, c queryCase) (caseResult, error) {
	r := caseResult{c: c}
	req := b.request(d, c.request(d.opts.Now))
	runtime.GC()
	pid := b.plugin.Pid()
	if err := resetPeak(pid); err != nil {
		return r, err
	}
	mem, err := readMemory(pid)
	if err != nil {
		return r, err
	}
	r.base = mem.RSS

	// Warm-up: check the answer and learn the SQL the plugin executed.
	resp, _, err := b.pluginCall(ctx, req)
	if err != nil {
		return r, fmt.Errorf("QueryData: %w", err)
	}
	sql, args, err := r.check(resp)
	if err != nil {
		return r, err
	}
	if sql != "" {
		if r.rawRows, err = readRaw(ctx, d.raw, sql, args); err != nil {
			return r, fmt.Errorf("baseline: %w\nSQL: %s", err, sql)
		}
	}

	for i := range b.cfg.rounds {
		// Alternate which side goes first, so neither always runs on a
		// warmer (or busier) machine.
		pluginFirst := i%2 == 0
		if !pluginFirst && sql != "" {
			if err := r.timeRaw(ctx, d, sql, args); err != nil {
				return r, err
			}
		}
		st0, err := readStat(pid)
		if err != nil {
			return r, err
		}
		cpu0, err := cpuTime(pid)
		if err != nil {
			return r, err
		}
		_, took, err := b.pluginCall(ctx, req)
		if err != nil {
			return r, fmt.Errorf("QueryData: %w", err)
		}
		cpu1, err := cpuTime(pid)
		if err != nil {
			return r, err
		}
		st1, err := readStat(pid)
		if err != nil {
			return r, err
		}
		r.plugin = append(r.plugin, took)
		r.pluginCPU = append(r.pluginCPU, cpu1-cpu0)
		r.faults = append(r.faults, int64(st1.MinorFaults-st0.MinorFaults))
		if pluginFirst && sql != "" {
			if err := r.timeRaw(ctx, d, sql, args); err != nil {
				return r, err
			}
		}
	}
	if mem, err = readMemory(pid); err != nil {
		return r, err
	}
	r.peak = mem.Peak
	return r, nil
}

func (r *caseResult) timeRaw(ctx context.Context, d *dataset, sql string, args []any) error {
	cpu0, err := cpuTime(os.Getpid())
	if err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := readRaw(ctx, d.raw, sql, args); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	r.raw = append(r.raw, time.Since(t0))
	cpu1, err := cpuTime(os.Getpid())
	if err != nil {
		return err
	}
	r.rawCPU = append(r.rawCPU, cpu1-cpu0)
	return nil
}

// check decodes the warm-up answer: no errors, the expected rows, and the
// executed SQL with its arguments ("" for a query that sent none).
func (r *caseResult) check(resp *pluginv2.QueryDataResponse) (string, []any, error) {
	dr, ok := resp.Responses["A"]
	if !ok {
		return "", nil, errors.New("no response for refId A")
	}
	if dr.Error != "" {
		return "", nil, fmt.Errorf("the plugin answered an error: %s", dr.Error)
	}
	for _, raw := range dr.Frames {
		r.bytes += int64(len(raw))
	}
	res, err := backend.FromProto().QueryDataResponse(resp)
	if err != nil {
		return "", nil, fmt.Errorf("decode the response: %w", err)
	}
	var executed string
	for _, f := range res.Responses["A"].Frames {
		r.frames++
		r.rows += f.Rows()
		if executed == "" && f.Meta != nil {
			executed = f.Meta.ExecutedQueryString
		}
	}
	if r.c.wantRows > 0 && r.rows != r.c.wantRows {
		return "", nil, fmt.Errorf("expected %d rows, the plugin returned %d", r.c.wantRows, r.rows)
	}
	if executed == "" {
		return "", nil, nil
	}
	sql, args, err := splitExecuted(executed)
	return sql, args, err
}

func (r caseResult) summary() string {
	if len(r.raw) == 0 {
		return fmt.Sprintf("plugin median %s", ms(median(r.plugin)))
	}
	return fmt.Sprintf("plugin/raw median %.2fx, +%s", median(r.ratios()), ms(median(r.added())))
}

func (r caseResult) ratios() []float64 {
	out := make([]float64, len(r.raw))
	for i := range r.raw {
		out[i] = float64(r.plugin[i]) / float64(r.raw[i])
	}
	return out
}

func (r caseResult) added() []time.Duration {
	out := make([]time.Duration, len(r.raw))
	for i := range r.raw {
		out[i] = r.plugin[i] - r.raw[i]
	}
	return out
}

func (b *bench) printResults(results []caseResult) {
	fmt.Fprintln(b.out)
	tw := tabwriter.NewWriter(b.out, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "case\trows\tframes\tbytes\tplugin ms (min/med)\traw ms (min/med)\tplugin/raw (min/med)\tadded ms (med)\tCPU ms plugin/raw (med)\tpeak RSS\tRSS before\tpeak/bytes\tfaults (med)\t")
	for _, r := range results {
		ratio, added, rawMS := "-", "-", "-"
		cpu := ms(median(r.pluginCPU))
		if len(r.raw) > 0 {
			cpu += fmt.Sprintf(" / %s (%.2fx)", ms(median(r.rawCPU)), float64(median(r.pluginCPU))/float64(median(r.rawCPU)))
			rs := r.ratios()
			ratio = fmt.Sprintf("%.2fx / %.2fx", slices.Min(rs), median(rs))
			added = ms(median(r.added()))
			rawMS = ms(slices.Min(r.raw)) + " / " + ms(median(r.raw))
		}
		perByte := "-"
		if r.bytes > 1<<20 {
			perByte = fmt.Sprintf("%.1fx", float64(r.peak)/float64(r.bytes))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", r.c.name, r.rows, r.frames, size(r.bytes),
			ms(slices.Min(r.plugin))+" / "+ms(median(r.plugin)), rawMS, ratio, added, cpu, mib(r.peak), mib(r.base), perByte, median(r.faults))
	}
	_ = tw.Flush()
	fmt.Fprintln(b.out)
}

// afterIdle waits, then times the largest case once more: the time and page
// faults of the first query after the runtime has had time to return memory.
func (b *bench) afterIdle(ctx context.Context, last caseResult) error {
	d := b.dataset(last.c.dataset)
	req := b.request(d, last.c.request(d.opts.Now))
	pid := b.plugin.Pid()
	before, _ := readMemory(pid)
	b.logf("idle %s after %q (plugin RSS %s) ...", b.cfg.idle, last.c.name, mib(before.RSS))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.cfg.idle):
	}
	idle, _ := readMemory(pid)
	st0, err := readStat(pid)
	if err != nil {
		return err
	}
	_, took, err := b.pluginCall(ctx, req)
	if err != nil {
		return err
	}
	st1, err := readStat(pid)
	if err != nil {
		return err
	}
	b.logf("after %s idle: RSS %s before the query; it took %s ms (median before: %s), %d minor page faults (median before: %d), %d major",
		b.cfg.idle, mib(idle.RSS), ms(took), ms(median(last.plugin)), st1.MinorFaults-st0.MinorFaults, median(last.faults), st1.MajorFaults-st0.MajorFaults)
	return nil
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// loadAverage is /proc/loadavg's first three figures: the machine's noise.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
