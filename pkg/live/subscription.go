package live

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// ErrSlow ends a subscription whose reader fell too far behind (see
// Config.WithQueue); the others on the channel go on.
var ErrSlow = errors.New("live: the subscriber fell too far behind and was dropped")

// ErrClosed ends subscriptions when the hub closes (the data source's
// settings changed, or the plugin stops).
var ErrClosed = errors.New("live: the data source instance closed")

// Subscription is one subscriber of a channel: RunStream reads it.
type Subscription struct {
	ch   *channel
	wake chan struct{}

	mu     sync.Mutex
	queue  []*Push
	rows   int
	err    error
	closed bool
}

func newSubscription(ch *channel) *Subscription {
	return &Subscription{ch: ch, wake: make(chan struct{}, 1)}
}

// Next waits for the next frames (one push of the channel, or several
// coalesced), the context's end, or the subscription's end (ErrSlow,
// ErrClosed).
func (s *Subscription) Next(ctx context.Context) (data.Frames, error) {
	p, err := s.NextPush(ctx)
	if err != nil {
		return nil, err
	}
	return p.Frames, nil
}

// NextPush is Next with the push's shared encodings (Push.JSON).
func (s *Subscription) NextPush(ctx context.Context) (*Push, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			p := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.rows -= rowsOf(p.Frames)
			s.mu.Unlock()
			return p, nil
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.wake:
		}
	}
}

// Close leaves the channel.
func (s *Subscription) Close() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		s.ch.unsubscribe(s)
	}
}

// offer queues a push without waiting. When the queue is full the push's
// frames are appended to the last queued ones where their fields match;
// past the row bound the subscriber is dropped. It reports whether the
// subscriber is still on.
func (s *Subscription) offer(p *Push, maxFrames, maxRows int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	n := rowsOf(p.Frames)
	switch {
	case s.rows+n > maxRows:
		s.fail(fmt.Errorf("%w (%d rows waiting, at most %d)", ErrSlow, s.rows+n, maxRows))
		return false
	case len(s.queue) < maxFrames:
		s.queue = append(s.queue, p)
	default:
		merged, ok := coalesce(s.queue[len(s.queue)-1].Frames, p.Frames)
		if !ok {
			s.fail(fmt.Errorf("%w (%d pushes waiting)", ErrSlow, len(s.queue)))
			return false
		}
		s.queue[len(s.queue)-1] = newPush(merged)
	}
	s.rows += n
	s.signal()
	return true
}

// end finishes the subscription with err once what is queued is read.
func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.signal()
	}
}

// fail drops what is queued and ends the subscription at once (mu held).
func (s *Subscription) fail(err error) {
	s.queue, s.rows, s.err = nil, 0, err
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Push is what one delivery brings a subscriber: frames shared by every
// subscriber of the channel, and their JSON encodings for Grafana Live,
// made by the first subscriber that sends them and reused by the rest (a
// channel's fan-out encodes each frame once, not once per subscriber).
type Push struct {
	Frames data.Frames

	mu      sync.Mutex
	encoded map[encoding][]byte
}

type encoding struct {
	frame   int
	include data.FrameInclude
}

func newPush(frames data.Frames) *Push { return &Push{Frames: frames} }

// JSON is Frames[i] encoded as data.FrameToJSON(Frames[i], include) does,
// the same bytes for every subscriber; don't change them.
func (p *Push) JSON(i int, include data.FrameInclude) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := encoding{i, include}
	if b, ok := p.encoded[k]; ok {
		return b, nil
	}
	b, err := data.FrameToJSON(p.Frames[i], include)
	if err != nil {
		return nil, fmt.Errorf("encode frame %q for the live stream: %w", p.Frames[i].Name, err)
	}
	if p.encoded == nil {
		p.encoded = map[encoding][]byte{}
	}
	p.encoded[k] = b
	return b, nil
}

func rowsOf(frames data.Frames) int {
	n := 0
	for _, f := range frames {
		n += f.Rows()
	}
	return n
}

// coalesce appends b's rows to a's, frame by frame, when both pushes have
// the same frames with the same fields (name and type). Frames are shared
// between subscribers, so the result is a copy.
func coalesce(a, b data.Frames) (data.Frames, bool) {
	if len(a) != len(b) {
		return nil, false
	}
	for i := range a {
		if !sameFields(a[i], b[i]) {
			return nil, false
		}
	}
	out := make(data.Frames, len(a))
	for i := range a {
		f := a[i].EmptyCopy()
		f.Meta = a[i].Meta
		if b[i].Meta != nil {
			f.Meta = b[i].Meta
		}
		for j, fld := range f.Fields {
			fld.Config = a[i].Fields[j].Config
			fld.AppendAll(a[i].Fields[j])
			fld.AppendAll(b[i].Fields[j])
		}
		out[i] = f
	}
	return out, true
}

func sameFields(a, b *data.Frame) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || a.Fields[i].Type() != b.Fields[i].Type() {
			return false
		}
	}
	return true
}
