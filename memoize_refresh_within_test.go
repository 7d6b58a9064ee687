package caching

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeRefreshWithinItsComputationStored: fn refreshes its own
// argument from within its computation (a loader that calls a helper
// which refreshes, with a context made from the one fn was given). The
// inner Refresh computes inline, as a Get does there (reentry.go); it
// must not supersede the computation it runs within, whose result holds
// it and is stored: the next Get is a hit, and does not call fn again.
func TestMemoizeRefreshWithinItsComputationStored(t *testing.T) {
	c, err := New(&Options{Backend: newSimple(t, nil), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	type innerKey struct{}
	var calls atomic.Int64
	var m *Memoized[int, int]
	m = Memoize(c, "refresh-within", func(ctx context.Context, n int) (int, error) {
		calls.Add(1)
		if ctx.Value(innerKey{}) != nil {
			return n * 10, nil
		}
		inner, err := m.Refresh(context.WithValue(ctx, innerKey{}, true), n)
		return inner + 1, err
	}, TTL(time.Hour))

	v, err := m.Get(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, 41, v)
	require.Equal(t, int64(2), calls.Load(), "the outer call and the inline Refresh")

	v, err = m.Get(ctx, 4)
	require.NoError(t, err)
	assert.Equal(t, 41, v)
	assert.Equal(t, int64(2), calls.Load(), "fn calls: the outer computation's result was not stored")
}
