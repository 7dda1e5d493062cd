package optimizer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBreaker(t *testing.T) {
	b := breaker{threshold: 3, cooldown: time.Second, maxCooldown: 3 * time.Second}
	now := time.Unix(1000, 0)
	require.False(t, b.failure(now))
	require.False(t, b.failure(now))
	ok, _ := b.allow(now)
	require.True(t, ok)
	require.True(t, b.failure(now), "the third failure in a row switches it off")
	ok, until := b.allow(now)
	require.False(t, ok)
	require.Equal(t, now.Add(time.Second), until)

	now = now.Add(time.Second)
	ok, _ = b.allow(now)
	require.True(t, ok, "after the pause one call may try")
	require.True(t, b.failure(now), "and its failure switches it off again")
	_, until = b.allow(now)
	require.Equal(t, now.Add(2*time.Second), until, "for twice as long")
	now = now.Add(2 * time.Second)
	b.failure(now)
	_, until = b.allow(now)
	require.Equal(t, now.Add(3*time.Second), until, "capped")

	now = now.Add(3 * time.Second)
	b.success()
	require.False(t, b.failure(now), "a success starts the count again")
	ok, _ = b.allow(now)
	require.True(t, ok)
}
