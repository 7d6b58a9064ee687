package near_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// TestInvalidationWithoutNewsSeenWithinMaxStale pins what the caching
// package doc ("Many processes") says of a near cache in front of a store
// that sends no news (as memcached or the filesystem store): after process
// B's InvalidateTags returns, process A may still serve the tagged entry
// from its memory, for less than MaxStale after the read that fetched it,
// and no longer; B itself sees its invalidation at once.
func TestInvalidationWithoutNewsSeenWithinMaxStale(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock()
	remote := simple.Must(simple.Options{Clock: clock.Now})
	t.Cleanup(func() { _ = remote.Close() })
	open := func() *caching.Cache {
		c := caching.Must(&caching.Options{
			Backend: near.Must(remote, near.Options{Clock: clock.Now, MaxStale: time.Second}),
			Clock:   clock.Now,
		})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a, b := open(), open()
	require.NoError(t, a.Set(ctx, "price", []byte("10"), time.Minute, caching.Tags("prices")))
	for _, c := range []*caching.Cache{a, b} { // read remote, kept in each one's memory
		v, err := c.Get(ctx, "price")
		require.NoError(t, err)
		require.Equal(t, "10", string(v))
	}

	require.NoError(t, b.InvalidateTags(ctx, "prices"))
	_, err := b.Get(ctx, "price")
	assert.ErrorIs(t, err, caching.ErrNotFound, "the process that invalidated served the entry")
	clock.Advance(time.Second - time.Nanosecond)
	v, err := a.Get(ctx, "price")
	require.NoError(t, err, "within MaxStale, A serves what its memory holds")
	assert.Equal(t, "10", string(v))

	clock.Advance(time.Nanosecond) // MaxStale after the read
	_, err = a.Get(ctx, "price")
	assert.ErrorIs(t, err, caching.ErrNotFound, "A served an invalidated entry past MaxStale")
}
