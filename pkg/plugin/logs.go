package plugin

import (
	"context"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// Log budget of QuietLogger: per message, this many warnings or errors are
// written per interval, the rest counted into one summary line.
const (
	logInterval = 10 * time.Second
	logBurst    = 5
)

// QuietLogger wraps the plugin's logger so that a repeated warning or error
// cannot flood Grafana's log: each message (its text, at its level) is
// written at most logBurst times per logInterval; the others are counted,
// and when the interval ends one line says how many were suppressed and
// shows the last one's fields. Debug and info lines pass untouched.
//
//	backend.Logger = plugin.QuietLogger(log.NewWithLevel(log.Info))
//
// # Notes
//
// With ClickHouse down for 10 s a busy dashboard made the plugin write
// 66,869 lines. Most come from the SDK itself: its logger middleware
// (grafana-plugin-sdk-go backend/logger_middleware.go) writes "Partial data
// response error" at error level for every query of a response that carries
// an error, and "Plugin Request Completed" at error level for every failed
// request. Both use the SDK's backend.Logger, which main sets to this
// logger before the SDK builds its middleware. It starts one goroutine that
// writes the summaries, for the life of the process.
func QuietLogger(l log.Logger) log.Logger {
	b := &logBudget{out: l, counts: map[logKey]*logCount{}}
	go func() {
		for range time.Tick(logInterval) {
			b.flush()
		}
	}()
	return quietLogger{Logger: l, budget: b}
}

type logKey struct {
	level log.Level
	msg   string
}

// logCount is one message's lines in the current interval.
type logCount struct {
	written, suppressed int
	last                []any // the last suppressed line's fields
}

// logBudget is the count shared by a QuietLogger and every logger derived
// from it (With, FromContext).
type logBudget struct {
	out    log.Logger
	mu     sync.Mutex
	counts map[logKey]*logCount
}

// allow counts a line and reports whether to write it.
func (b *logBudget) allow(level log.Level, msg string, args []any) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := logKey{level, msg}
	c := b.counts[k]
	if c == nil {
		c = &logCount{}
		b.counts[k] = c
	}
	if c.written < logBurst {
		c.written++
		return true
	}
	c.suppressed++
	c.last = args
	return false
}

// flush writes one summary per message that had lines suppressed, and
// starts a new interval.
func (b *logBudget) flush() {
	b.mu.Lock()
	counts := b.counts
	b.counts = map[logKey]*logCount{}
	b.mu.Unlock()
	for k, c := range counts {
		if c.suppressed == 0 {
			continue
		}
		args := append([]any{"message", k.msg, "suppressed", c.suppressed, "written", c.written,
			"interval", logInterval.String()}, c.last...)
		const summary = "Repeated log line suppressed (the fields are the last one's)"
		if k.level == log.Error {
			b.out.Error(summary, args...)
		} else {
			b.out.Warn(summary, args...)
		}
	}
}

// quietLogger is a log.Logger under a logBudget.
type quietLogger struct {
	log.Logger
	budget *logBudget
}

func (q quietLogger) Warn(msg string, args ...any) {
	if q.budget.allow(log.Warn, msg, args) {
		q.Logger.Warn(msg, args...)
	}
}

func (q quietLogger) Error(msg string, args ...any) {
	if q.budget.allow(log.Error, msg, args) {
		q.Logger.Error(msg, args...)
	}
}

func (q quietLogger) With(args ...any) log.Logger {
	return quietLogger{Logger: q.Logger.With(args...), budget: q.budget}
}

func (q quietLogger) FromContext(ctx context.Context) log.Logger {
	return quietLogger{Logger: q.Logger.FromContext(ctx), budget: q.budget}
}
