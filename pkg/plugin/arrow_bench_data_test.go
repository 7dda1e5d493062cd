package plugin

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

// The Arrow IPC fixture in tests/fixtures (written by
// TestIntegrationArrowTaskFixture, read by arrow-go and apache-arrow tests).
const (
	ArrowTaskFixture     = "tasks.arrows"
	ArrowTaskFixtureRows = "tasks.expected.json"
)

// benchBlockRows is ClickHouse's default max_block_size: the arrow resource
// sends a block-wise task list as record batches of this many rows.
const benchBlockRows = 65536

// TestArrowBenchData writes the Arrow vs JSON benchmark's task frame
// (scripts/bench-arrow.mjs runs it) when KPIFLOW_ARROW_BENCH_DIR is set:
// KPIFLOW_ARROW_BENCH_ROWS rows (default 1,000,000) of the schema, field
// config and metadata of the fixture's tasks stream, values cycled from its
// rows (task ids and times made unique), as
//   - tasks.arrows: the arrow resource's own encoding (arrowSink), one
//     record batch per ClickHouse block;
//   - tasks.json: Grafana's JSON frame encoding (data.FrameToJSON), what
//     /api/ds/query carries to the browser.
func TestArrowBenchData(t *testing.T) {
	dir := os.Getenv("KPIFLOW_ARROW_BENCH_DIR")
	if dir == "" {
		t.Skip("KPIFLOW_ARROW_BENCH_DIR not set (scripts/bench-arrow.mjs sets it)")
	}
	rows := 1_000_000
	if s := os.Getenv("KPIFLOW_ARROW_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "KPIFLOW_ARROW_BENCH_ROWS")
		rows = n
	}
	tmpl := fixtureTasksFrame(t)
	rec := httptest.NewRecorder()
	sink := &arrowSink{w: rec}
	for lo := 0; lo < rows; lo += benchBlockRows {
		require.NoError(t, sink.frame(context.Background(), "f0", benchTaskFrame(tmpl, lo, min(lo+benchBlockRows, rows))))
	}
	require.NoError(t, sink.close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tasks.arrows"), rec.Body.Bytes(), 0o644))

	js, err := data.FrameToJSON(benchTaskFrame(tmpl, 0, rows), data.IncludeAll)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tasks.json"), js, 0o644))
	t.Logf("%d rows: arrow %d bytes, json %d bytes", rows, rec.Body.Len(), len(js))
}

// fixtureTasksFrame is the first stream of the committed fixture (the
// taskflow tasks view), read with arrow-go.
func fixtureTasksFrame(t *testing.T) *data.Frame {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "tests", "fixtures", ArrowTaskFixture))
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewReader(f)
	require.NoError(t, err)
	defer r.Release()
	require.True(t, r.Next(), "the fixture's tasks stream has no record batch")
	frame, err := data.FromArrowRecord(r.RecordBatch())
	require.NoError(t, err)
	require.Positive(t, frame.Rows())
	return frame
}

// benchTaskFrame is rows [lo, hi) of a task list shaped like tmpl: each
// field's values cycled from tmpl's; strings of the first field (the task
// id) and times made unique, as in a real task list.
func benchTaskFrame(tmpl *data.Frame, lo, hi int) *data.Frame {
	out := data.NewFrame(tmpl.Name)
	out.Meta = tmpl.Meta
	k := tmpl.Rows()
	for j, src := range tmpl.Fields {
		dst := data.NewFieldFromFieldType(src.Type(), hi-lo)
		dst.Name, dst.Labels, dst.Config = src.Name, src.Labels, src.Config
		for i := lo; i < hi; i++ {
			v := src.At(i % k)
			switch x := v.(type) {
			case time.Time:
				v = x.Add(time.Duration(i) * time.Second)
			case string:
				if j == 0 {
					v = fmt.Sprintf("%s-%d", x, i)
				}
			}
			dst.Set(i-lo, v)
		}
		out.Fields = append(out.Fields, dst)
	}
	return out
}
