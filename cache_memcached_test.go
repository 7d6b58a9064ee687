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
	b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: fmt.Sprint("pathversions-", time.Now().UnixNano())})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b})
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
