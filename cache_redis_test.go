package caching

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestTwoProcessesOnRedis runs two Caches, as two processes would, on one
// Redis: miniredis always, and the real server when it answers.
func TestTwoProcessesOnRedis(t *testing.T) {
	t.Run("miniredis", func(t *testing.T) { twoProcesses(t, miniredis.RunT(t).Addr()) })
	t.Run("real", func(t *testing.T) { twoProcesses(t, testutil.RedisAddr(t)) })
}

func twoProcesses(t *testing.T, addr string) {
	ctx := context.Background()
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	open := func() *Cache {
		b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		require.NoError(t, err)
		c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := open(), open()
	t.Cleanup(func() { _ = a.Clear(ctx) })
	require.NoError(t, a.Set(ctx, "page:1", []byte("one"), time.Minute, Tags("products")))
	require.NoError(t, SetAs(ctx, a, "typed", product{ID: 1 << 62, Name: "x"}, time.Minute, Tags("products")))
	got, err := b.Get(ctx, "page:1")
	require.NoError(t, err)
	require.Equal(t, "one", string(got))
	p, err := GetAs[product](ctx, b, "typed")
	require.NoError(t, err)
	require.Equal(t, int64(1<<62), p.ID)

	require.NoError(t, b.InvalidateTags(ctx, "products"))
	_, err = a.Get(ctx, "page:1")
	require.ErrorIs(t, err, ErrNotFound, "the other process's invalidation is seen at once")
	_, err = GetAs[product](ctx, a, "typed")
	require.ErrorIs(t, err, ErrNotFound)

	n, err := a.Incr(ctx, "hits", 2)
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	v, err := b.Get(ctx, "hits")
	require.NoError(t, err)
	require.Equal(t, "2", string(v))
}

// TestPathVersionsLeftOnRedis: every stored path left a version key with no
// TTL in Redis (100 requests to a 100 KB path left 12.6 MB after every entry
// had expired). Now every key a flood of paths writes expires, the version
// keys no later than four times the entries' life, and names stay short.
func TestPathVersionsLeftOnRedis(t *testing.T) {
	ctx := context.Background()
	c, b, prefix := onRedis(t)
	const life = 10 * time.Second
	ch := c.Cached(life)(&counter{})
	long := strings.Repeat("p", 100<<10)
	for i := range 50 {
		get(ch, fmt.Sprint("/flood/", i))
		get(ch, fmt.Sprint("/", long, i))
	}
	keys, err := b.Client().Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 200, "an entry and a version per path")
	for _, k := range keys {
		ttl, err := b.Client().PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.True(t, ttl > 0 && ttl <= 4*life, "%.60s: ttl %v", k, ttl)
		assert.Less(t, len(k), len(prefix)+300, "key names are bounded")
	}
}

// onRedis returns a Cache on the real Redis under a prefix of the test's
// own, cleared when the test ends, with its backend and the prefix.
func onRedis(t *testing.T) (*Cache, *redisstore.Store, string) {
	t.Helper()
	return onRedisWith(t, Options{})
}

// onRedisWith is onRedis for a Cache of opts (its Backend: the one given;
// its Timeout, when not given, and its Store's testutil.SlowTimeout).
func onRedisWith(t *testing.T, opts Options) (*Cache, *redisstore.Store, string) {
	t.Helper()
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	b, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: prefix})
	require.NoError(t, err)
	opts.Backend = b
	if opts.Timeout == 0 {
		opts.Timeout = testutil.SlowTimeout
	}
	c, err := New(&opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
	return c, b, prefix
}
