package caching

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// TestPathVersionsLeftOnMemcached is TestPathVersionsLeftOnRedis on real
// memcached, which cannot tell a key's TTL: the test waits for the versions
// to expire (memcached counts whole seconds).
func TestPathVersionsLeftOnMemcached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: fmt.Sprint("pathversions-", time.Now().UnixNano()), Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Clear(ctx); _ = c.Close() })
	ch := c.Cached(time.Second)(&counter{})
	for i := range 20 {
		get(ch, fmt.Sprint("/flood/", i))
	}
	_, err = b.Get(ctx, c.pathTagKey("/flood/0"))
	require.NoError(t, err, "the version is written")
	time.Sleep(4*time.Second + 1500*time.Millisecond) // the versions' TTL, and memcached's second
	for i := range 20 {
		_, err := b.Get(ctx, c.pathTagKey(fmt.Sprint("/flood/", i)))
		require.ErrorIs(t, err, ErrNotFound, "the flood left the version of /flood/%d behind", i)
	}
}

// A counter on memcached that loses digits (10 to 9) stays a counter: the
// server pads the shorter number with spaces in place ("9 "), which the
// Cache took for a corrupt entry, deleted, and reported as a miss, so that
// Incr(10), Decr(1), Get lost the counter.
func TestCounterLosingDigitsOnMemcached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: fmt.Sprint("mcfix-counter-", time.Now().UnixNano()), Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Clear(ctx); _ = c.Close() })

	n, err := c.Incr(ctx, "n", 10)
	require.NoError(t, err)
	require.Equal(t, int64(10), n)
	n, err = c.Decr(ctx, "n", 1)
	require.NoError(t, err)
	require.Equal(t, int64(9), n)

	v, err := c.Get(ctx, "n")
	require.NoError(t, err, "the counter is still there")
	require.Equal(t, "9", string(v))
	many, err := c.GetMany(ctx, "n")
	require.NoError(t, err)
	require.Equal(t, "9", string(many["n"]))
	has, err := c.Has(ctx, "n")
	require.NoError(t, err)
	require.True(t, has)

	n, err = c.Incr(ctx, "n", 1)
	require.NoError(t, err)
	require.Equal(t, int64(10), n, "the counter counts on from 9")
	v, err = c.Get(ctx, "n")
	require.NoError(t, err)
	require.Equal(t, "10", string(v))
}
