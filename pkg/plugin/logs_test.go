package plugin

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/stretchr/testify/require"
)

// recorder is a log.Logger that keeps its lines.
type recorder struct {
	mu    *sync.Mutex
	lines *[]string
	with  []any
}

func newRecorder() recorder { return recorder{mu: &sync.Mutex{}, lines: &[]string{}} }

func (r recorder) add(level, msg string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.lines = append(*r.lines, fmt.Sprint(level, " ", msg, " ", append(append([]any{}, r.with...), args...)))
}
func (r recorder) Debug(msg string, args ...any)          { r.add("debug", msg, args) }
func (r recorder) Info(msg string, args ...any)           { r.add("info", msg, args) }
func (r recorder) Warn(msg string, args ...any)           { r.add("warn", msg, args) }
func (r recorder) Error(msg string, args ...any)          { r.add("error", msg, args) }
func (r recorder) Level() log.Level                       { return log.Debug }
func (r recorder) FromContext(context.Context) log.Logger { return r }
func (r recorder) With(args ...any) log.Logger {
	return recorder{mu: r.mu, lines: r.lines, with: append(append([]any{}, r.with...), args...)}
}

// TestQuietLoggerSummarises: 10,000 identical errors within an interval
// become logBurst lines and one summary with the count (issue 17.4); other
// messages, and info lines, keep their own lines.
func TestQuietLoggerSummarises(t *testing.T) {
	rec := newRecorder()
	b := &logBudget{out: rec, counts: map[logKey]*logCount{}}
	l := quietLogger{Logger: rec, budget: b}
	ctxLogger := l.With("datasource", "uid1").FromContext(context.Background())
	for i := range 10_000 {
		ctxLogger.Error("Partial data response error", "refID", "A", "error", fmt.Sprintf("unreachable %d", i))
	}
	for range 3 {
		l.Warn("kill ClickHouse query", "queryId", "q")
		l.Info("Plugin Request Completed")
	}
	require.Len(t, *rec.lines, logBurst+6)
	b.flush()
	require.Len(t, *rec.lines, logBurst+7)
	last := (*rec.lines)[len(*rec.lines)-1]
	require.Contains(t, last, "error Repeated log line suppressed")
	require.Contains(t, last, "Partial data response error")
	require.Contains(t, last, "suppressed 9995")
	require.Contains(t, last, "unreachable 9999", "the last suppressed line's fields")

	// A new interval writes again.
	ctxLogger.Error("Partial data response error", "refID", "B")
	require.Len(t, *rec.lines, logBurst+8)
	b.flush()
	require.Len(t, *rec.lines, logBurst+8, "nothing suppressed, no summary")
}
