package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/kpiflow/kpiflow/pkg/internal/plugintest"
	"github.com/kpiflow/kpiflow/pkg/settings"
)

// chunkedSQL is chunked mode's result: kpi_samples' eight columns, generated
// by ClickHouse from numbers() so that setup costs nothing and the server
// sends blocks as fast as it can compute them (max_block_size rows each).
const chunkedSQL = `SELECT toDateTime(1767225600 + intDiv(number, 10)) AS ts,
  concat('metric_', toString(number %% 20)) AS metric,
  toFloat64(number %% 1000) / 10 AS value,
  concat('team-', toString(number %% 9)) AS team,
  concat('project-', toString(number %% 40)) AS project,
  concat('service-', toString(number %% 30)) AS service,
  if(number %% 3 = 0, 'production', 'staging') AS environment,
  'bench' AS source
FROM numbers(%d)`

// chunkedRun is one timed call.
type chunkedRun struct {
	first, total time.Duration // to the first chunk with rows (QueryData: the answer), to the end
	rows, chunks int
	bytes        int64
	peak, base   int64 // the plugin's VmHWM during the call, its RSS before
	cpu          time.Duration
}

// chunkedMode compares QueryChunkedData with QueryData on one large raw SQL
// result (issue 12): time to the first rows and the plugin's peak RSS.
// QueryChunkedData runs -rounds times first; QueryData once, last, as its
// peak is the largest (gigabytes at 10M rows: run it alone on the machine).
func (b *bench) chunkedMode(ctx context.Context) error {
	d, st, err := b.openDatabase(ctx, "chunked", map[string]any{
		"maxRows": b.cfg.chunkedRows, "maxResultBytes": settings.MaxMaxResultBytes, "queryTimeout": 600,
	})
	if err != nil {
		return err
	}
	_ = st.Close()
	b.sets = append(b.sets, d)
	sql := fmt.Sprintf(chunkedSQL, b.cfg.chunkedRows)
	q := dataQuery("A", map[string]any{"queryType": "sql", "format": "table", "rawSql": sql}, datasetNow, day, 0)
	b.logf("chunked mode: %d rows of raw SQL, QueryChunkedData %d rounds, then QueryData once; main at %s; load average %s",
		b.cfg.chunkedRows, b.cfg.rounds, headCommit(), loadAverage())

	// Warm-up: the data source's instance, its pool and the server's
	// caches, on a small result of the same shape.
	small := dataQuery("A", map[string]any{"queryType": "sql", "format": "table", "rawSql": fmt.Sprintf(chunkedSQL, 1000)}, datasetNow, day, 0)
	if _, err := b.chunkedCall(ctx, d.ds, small); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	var runs []chunkedRun
	for i := range b.cfg.rounds {
		r, err := b.chunkedCall(ctx, d.ds, q)
		if err != nil {
			return err
		}
		if r.rows != b.cfg.chunkedRows {
			return fmt.Errorf("QueryChunkedData round %d: %d rows, expected %d", i+1, r.rows, b.cfg.chunkedRows)
		}
		runs = append(runs, r)
		fmt.Fprintf(b.out, "# QueryChunkedData round %d: first chunk %s ms, all %s ms, %d chunks, peak RSS %s; load average %s\n",
			i+1, ms(r.first), ms(r.total), r.chunks, mib(r.peak), loadAverage())
	}
	var whole *chunkedRun
	if b.cfg.queryData {
		r, err := b.queryDataCall(ctx, d, q)
		if err != nil {
			return err
		}
		if r.rows != b.cfg.chunkedRows {
			return fmt.Errorf("QueryData: %d rows, expected %d", r.rows, b.cfg.chunkedRows)
		}
		whole = &r
		fmt.Fprintf(b.out, "# QueryData: answer %s ms, peak RSS %s; load average %s\n", ms(r.total), mib(r.peak), loadAverage())
	}

	firsts, totals, peaks := make([]time.Duration, len(runs)), make([]time.Duration, len(runs)), make([]int64, len(runs))
	for i, r := range runs {
		firsts[i], totals[i], peaks[i] = r.first, r.total, r.peak
	}
	c := runs[0]
	fmt.Fprintln(b.out, "\n| call | rows | chunks | bytes | first rows ms (min/med/max) | all rows ms (min/med) | plugin CPU ms | peak RSS (max) | RSS before |")
	fmt.Fprintln(b.out, "|---|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(b.out, "| QueryChunkedData | %d | %d | %s | %s / %s / %s | %s / %s | %s | %s | %s |\n", c.rows, c.chunks, size(c.bytes),
		ms(slices.Min(firsts)), ms(median(firsts)), ms(slices.Max(firsts)), ms(slices.Min(totals)), ms(median(totals)),
		ms(c.cpu), mib(slices.Max(peaks)), mib(c.base))
	if whole != nil {
		fmt.Fprintf(b.out, "| QueryData | %d | 1 | %s | %s | %s | %s | %s | %s |\n", whole.rows, size(whole.bytes),
			ms(whole.first), ms(whole.total), ms(whole.cpu), mib(whole.peak), mib(whole.base))
		fmt.Fprintf(b.out, "\nfirst rows: QueryChunkedData median %s ms (target < 100 ms), QueryData %s ms: %.0fx sooner; peak RSS: chunked %s, QueryData %s: %.3f of it (target ≤ 0.1)\n",
			ms(median(firsts)), ms(whole.first), float64(whole.first)/float64(median(firsts)),
			mib(slices.Max(peaks)), mib(whole.peak), float64(slices.Max(peaks))/float64(whole.peak))
	}
	fmt.Fprintln(b.out)
	b.logf("load average %s", loadAverage())
	return nil
}

// chunkedCall runs q through QueryChunkedData, decoding every chunk as
// Grafana does.
func (b *bench) chunkedCall(ctx context.Context, ds plugintest.DataSource, q backend.DataQuery) (chunkedRun, error) {
	pid := b.plugin.Pid()
	var r chunkedRun
	if err := b.beforeCall(pid, &r); err != nil {
		return r, err
	}
	cpu0, err := cpuTime(pid)
	if err != nil {
		return r, err
	}
	t0 := time.Now()
	err = b.plugin.QueryChunkedData(ctx, ds, benchHeaders(), func(c plugintest.Chunk) error {
		if c.Error != "" {
			return fmt.Errorf("chunk of %s: %s", c.RefID, c.Error)
		}
		r.chunks++
		r.bytes += int64(c.Bytes)
		if c.Frame != nil && c.Frame.Rows() > 0 {
			if r.rows == 0 {
				r.first = c.At.Sub(t0)
			}
			r.rows += c.Frame.Rows()
		}
		return nil
	}, q)
	r.total = time.Since(t0)
	if err != nil {
		return r, fmt.Errorf("QueryChunkedData: %w", err)
	}
	return r, b.afterCall(pid, cpu0, &r)
}

// queryDataCall runs q through QueryData; the rows are counted from the
// Arrow IPC stream without building Go columns, so the benchmark itself
// stays small.
func (b *bench) queryDataCall(ctx context.Context, d *dataset, q backend.DataQuery) (chunkedRun, error) {
	pid := b.plugin.Pid()
	var r chunkedRun
	if err := b.beforeCall(pid, &r); err != nil {
		return r, err
	}
	cpu0, err := cpuTime(pid)
	if err != nil {
		return r, err
	}
	resp, took, err := b.pluginCall(ctx, b.request(d, q))
	if err != nil {
		return r, fmt.Errorf("QueryData: %w", err)
	}
	r.first, r.total = took, took
	dr := resp.Responses["A"]
	if dr == nil || dr.Error != "" {
		return r, fmt.Errorf("QueryData answered no rows: %v", dr)
	}
	for _, raw := range dr.Frames {
		r.bytes += int64(len(raw))
		n, err := arrowRows(raw)
		if err != nil {
			return r, err
		}
		r.rows += n
	}
	return r, b.afterCall(pid, cpu0, &r)
}

func (b *bench) beforeCall(pid int, r *chunkedRun) error {
	if err := resetPeak(pid); err != nil {
		return err
	}
	mem, err := readMemory(pid)
	r.base = mem.RSS
	return err
}

func (b *bench) afterCall(pid int, cpu0 time.Duration, r *chunkedRun) error {
	cpu1, err := cpuTime(pid)
	if err != nil {
		return err
	}
	mem, err := readMemory(pid)
	r.cpu, r.peak = cpu1-cpu0, mem.Peak
	return err
}

// arrowRows counts the rows of an Arrow IPC stream.
func arrowRows(raw []byte) (int, error) {
	rd, err := ipc.NewReader(bytes.NewReader(raw))
	if err != nil {
		return 0, fmt.Errorf("read the answer's Arrow stream: %w", err)
	}
	defer rd.Release()
	n := 0
	for rd.Next() {
		n += int(rd.RecordBatch().NumRows())
	}
	if err := rd.Err(); err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("read the answer's Arrow stream: %w", err)
	}
	return n, nil
}

// headCommit is the commit the benchmark was built from, for the record.
func headCommit() string {
	out, err := exec.Command("git", "log", "-1", "--format=%h %s").Output()
	if err != nil {
		return "?"
	}
	s := strings.TrimSpace(string(out))
	if len(s) > 72 {
		s = s[:72] + "…"
	}
	return s
}
