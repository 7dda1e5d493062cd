package live

import (
	"context"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"
)

func ids(vals ...string) *Push {
	return newPush(data.Frames{data.NewFrame("events", data.NewField("event_id", nil, vals))})
}

func TestSubscriptionQueue(t *testing.T) {
	hub := NewHub(nil, DefaultConfig(), nil)
	ch := hub.newChannel("k", Spec{Table: "task_events"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	t.Run("frames come in order", func(t *testing.T) {
		s := newSubscription(ch)
		require.True(t, s.offer(ids("a"), 2, 10))
		require.True(t, s.offer(ids("b"), 2, 10))
		f, err := s.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, "a", f[0].Fields[0].At(0))
	})
	t.Run("a full queue coalesces frames with the same fields, without touching the shared ones", func(t *testing.T) {
		s := newSubscription(ch)
		first := ids("a")
		require.True(t, s.offer(first, 1, 10))
		require.True(t, s.offer(ids("b", "c"), 1, 10))
		f, err := s.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, f[0].Rows())
		require.Equal(t, []any{"a", "b", "c"}, []any{f[0].Fields[0].At(0), f[0].Fields[0].At(1), f[0].Fields[0].At(2)})
		require.Equal(t, 1, first.Frames[0].Rows(), "the frame other subscribers got is unchanged")
	})
	t.Run("a full queue with frames that cannot be merged drops the subscriber", func(t *testing.T) {
		s := newSubscription(ch)
		require.True(t, s.offer(ids("a"), 1, 10))
		other := newPush(data.Frames{data.NewFrame("x", data.NewField("n", nil, []float64{1}))})
		require.False(t, s.offer(other, 1, 10))
		_, err := s.Next(ctx)
		require.ErrorIs(t, err, ErrSlow)
	})
	t.Run("too many rows waiting drops the subscriber", func(t *testing.T) {
		s := newSubscription(ch)
		require.True(t, s.offer(ids("a", "b"), 10, 3))
		require.False(t, s.offer(ids("c", "d"), 10, 3))
		_, err := s.Next(ctx)
		require.ErrorIs(t, err, ErrSlow)
	})
	t.Run("an ended subscription hands out what is queued first", func(t *testing.T) {
		s := newSubscription(ch)
		require.True(t, s.offer(ids("a"), 2, 10))
		s.end(ErrClosed)
		_, err := s.Next(ctx)
		require.NoError(t, err)
		_, err = s.Next(ctx)
		require.ErrorIs(t, err, ErrClosed)
	})
}

func TestPushEncodesOnceForEverySubscriber(t *testing.T) {
	p := ids("a", "b")
	for _, include := range []data.FrameInclude{data.IncludeAll, data.IncludeDataOnly} {
		want, err := data.FrameToJSON(p.Frames[0], include)
		require.NoError(t, err)
		first, err := p.JSON(0, include)
		require.NoError(t, err)
		require.Equal(t, want, first, "the bytes SendFrame would send")
		again, err := p.JSON(0, include)
		require.NoError(t, err)
		require.Same(t, &first[0], &again[0], "encoded once, shared")
	}
}
