package caching_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// counterless hides the backend's own counter (backend.Incrementer), so
// that Incr reads and writes back.
type counterless struct{ backend.Backend }

// TestIncrWithoutCountersRefusesOverflow: on a backend without counters,
// Incr past the int64 range gives ErrNotInteger, as the backends' own
// counters do, instead of wrapping to the other end of the range; the
// counter keeps its value.
func TestIncrWithoutCountersRefusesOverflow(t *testing.T) {
	ctx := context.Background()
	c := caching.Must(&caching.Options{Backend: counterless{simple.Must(simple.Options{})}})
	defer c.Close()

	n, err := c.Incr(ctx, "up", math.MaxInt64)
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64), n)
	_, err = c.Incr(ctx, "up", 1)
	assert.ErrorIs(t, err, backend.ErrNotInteger)

	_, err = c.Incr(ctx, "down", math.MinInt64)
	require.NoError(t, err)
	_, err = c.Decr(ctx, "down", 1)
	assert.ErrorIs(t, err, backend.ErrNotInteger)

	n, err = c.Incr(ctx, "up", -1)
	require.NoError(t, err)
	assert.Equal(t, int64(math.MaxInt64-1), n, "the counter kept its value")
}
