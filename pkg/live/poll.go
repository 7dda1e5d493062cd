package live

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/kpiflow/kpiflow/pkg/query/plan"
	"github.com/kpiflow/kpiflow/pkg/schema"
)

// pollPlan reads the channel's rows stamped at or after since, newest first,
// one more than the window holds (so Diff can tell it overflowed).
func (ch *channel) pollPlan(since int64) plan.Plan {
	t, _ := schema.Lookup(ch.spec.Table)
	return plan.Plan{
		Source: ch.spec.Table, TimeColumn: schema.ColIngestedAt, TimeRange: plan.TimeRange{From: since},
		Columns: t.ColumnNames(), Filters: ch.spec.Scope,
		OrderBy: []plan.Order{{Column: schema.ColIngestedAt, Desc: true}},
		Limit:   ch.hub.cfg.maxWindowRows + 1,
	}
}

// baseline starts a watermark at the server's clock, counting the rows
// visible now as delivered.
func (ch *channel) baseline(ctx context.Context) (*Watermark, error) {
	now, err := ch.hub.src.Now(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the ClickHouse server's clock: %w", err)
	}
	wm := NewWatermark(now.Unix(), int64(ch.hub.cfg.lag/time.Second), ch.hub.cfg.maxWindowRows)
	_, stamps, ids, err := ch.readWindow(ctx, wm)
	if err != nil {
		return nil, err
	}
	wm.Baseline(stamps, ids)
	return wm, nil
}

// readWindow reads the rows of the watermark's window with their
// ingested_at and identities.
func (ch *channel) readWindow(ctx context.Context, wm *Watermark) (*data.Frame, []int64, []uint64, error) {
	f, err := ch.hub.src.Read(ctx, ch.pollPlan(wm.Since()))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read the rows of %s since %d: %w", ch.spec.Table, wm.Since(), err)
	}
	stamps, ids, err := identities(f, ch.hub.seed)
	return f, stamps, ids, err
}

// poller polls until the channel is idle or the hub closes. wm is nil when
// no baseline was read yet (a channel started by a subscriber).
func (ch *channel) poller(ctx context.Context, r *run, wm *Watermark) {
	cfg := ch.hub.cfg
	pause := cfg.pollInterval
	timer := time.NewTimer(0)
	if wm != nil {
		timer.Reset(cfg.pollInterval)
	}
	defer timer.Stop()
	var settle *data.Frame
	failures := 0
	for {
		ticked := false
		select {
		case <-ctx.Done():
			return
		case <-ch.wake:
		case <-timer.C:
			ticked = true
		}
		if ch.idle(r) {
			return
		}
		var err error
		switch {
		case wm == nil:
			wm, err = ch.baseline(ctx)
		case ticked && settle != nil:
			if err = ch.push(ctx, settle, false); err == nil {
				settle = nil
			}
		}
		if err == nil {
			var pushed *data.Frame
			pushed, err = ch.poll(ctx, wm)
			if pushed != nil && ch.spec.Settle {
				settle = pushed
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			pause = min(cfg.pollInterval<<min(failures, 8), cfg.maxRetryPause)
			if failures == 1 || failures%10 == 0 {
				ch.hub.log.Warn("live poll failed; the stream resumes from its watermark when ClickHouse answers",
					"channel", ch.key, "table", ch.spec.Table, "failures", failures, "retryIn", pause.String(), "error", err)
			}
		} else {
			failures, pause = 0, cfg.pollInterval
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(pause)
	}
}

// poll reads the window, delivers the fresh rows and commits the watermark.
// It returns the rows delivered (nil for none).
func (ch *channel) poll(ctx context.Context, wm *Watermark) (*data.Frame, error) {
	f, stamps, ids, err := ch.readWindow(ctx, wm)
	if err != nil {
		return nil, err
	}
	fresh, step := wm.Diff(stamps, ids)
	if len(fresh) == 0 && !step.Overflow {
		wm.Commit(step)
		return nil, nil
	}
	// The read is newest first; subscribers get the oldest first.
	slices.Reverse(fresh)
	rows := pick(f, fresh)
	if err := ch.push(ctx, rows, step.Overflow); err != nil {
		return nil, err
	}
	wm.Commit(step)
	return rows, nil
}

// push runs Push and delivers its frames.
func (ch *channel) push(ctx context.Context, rows *data.Frame, overflow bool) error {
	frames, err := ch.spec.Push(ctx, rows)
	if err != nil {
		return fmt.Errorf("turn %d new rows of %s into frames: %w", rows.Rows(), ch.spec.Table, err)
	}
	if overflow && len(frames) > 0 {
		f := frames[0]
		if f.Meta == nil {
			f.Meta = &data.FrameMeta{}
		}
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("More than %d rows of %s arrived within %s: the live stream skipped the oldest of them; refresh the panel to see everything.",
				ch.hub.cfg.maxWindowRows, ch.spec.Table, ch.hub.cfg.lag)})
	}
	if len(frames) > 0 {
		ch.deliver(frames)
	}
	return nil
}

// identities reads each row's ingested_at and hashes all its values into
// its identity (with the hub's seed: identities only live in this process).
func identities(f *data.Frame, seed maphash.Seed) ([]int64, []uint64, error) {
	at, _ := f.FieldByName(schema.ColIngestedAt)
	if at == nil {
		return nil, nil, fmt.Errorf("live: the poll's result has no %s column", schema.ColIngestedAt)
	}
	n := f.Rows()
	stamps, ids := make([]int64, n), make([]uint64, n)
	var h maphash.Hash
	h.SetSeed(seed)
	var buf [8]byte
	for i := 0; i < n; i++ {
		h.Reset()
		for _, fld := range f.Fields {
			writeValue(&h, buf[:], fld.At(i))
		}
		ids[i] = h.Sum64()
		switch v := at.At(i).(type) {
		case time.Time:
			stamps[i] = v.Unix()
		case *time.Time:
			if v != nil {
				stamps[i] = v.Unix()
			}
		}
	}
	return stamps, ids, nil
}

// writeValue adds one value to the hash, with a type tag and length so that
// adjacent values cannot run into each other.
func writeValue(h *maphash.Hash, buf []byte, v any) {
	num := func(tag byte, x uint64) {
		_ = h.WriteByte(tag)
		binary.LittleEndian.PutUint64(buf, x)
		_, _ = h.Write(buf)
	}
	switch x := v.(type) {
	case nil:
		_ = h.WriteByte(0)
	case string:
		num(1, uint64(len(x)))
		_, _ = h.WriteString(x)
	case *string:
		if x == nil {
			_ = h.WriteByte(0)
		} else {
			writeValue(h, buf, *x)
		}
	case float64:
		num(2, math.Float64bits(x))
	case *float64:
		if x == nil {
			_ = h.WriteByte(0)
		} else {
			num(2, math.Float64bits(*x))
		}
	case time.Time:
		num(3, uint64(x.UnixNano()))
	case *time.Time:
		if x == nil {
			_ = h.WriteByte(0)
		} else {
			num(3, uint64(x.UnixNano()))
		}
	case int64:
		num(4, uint64(x))
	case uint64:
		num(4, x)
	case int32:
		num(4, uint64(x))
	case uint32:
		num(4, uint64(x))
	case int8:
		num(4, uint64(x))
	case uint8:
		num(4, uint64(x))
	case int16:
		num(4, uint64(x))
	case uint16:
		num(4, uint64(x))
	case bool:
		if x {
			num(5, 1)
		} else {
			num(5, 0)
		}
	default:
		s := fmt.Sprint(x)
		num(6, uint64(len(s)))
		_, _ = h.WriteString(s)
	}
}

// pick copies rows idx of f, in that order, into a new frame.
func pick(f *data.Frame, idx []int) *data.Frame {
	out := f.EmptyCopy()
	for j, fld := range out.Fields {
		src := f.Fields[j]
		fld.Config = src.Config
		fld.Grow(len(idx))
		for _, i := range idx {
			fld.Append(src.CopyAt(i))
		}
	}
	return out
}
