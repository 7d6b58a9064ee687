package caching

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestGetOrSetInvalidatedWhileLoading: a tag invalidated while GetOrSet's
// load runs makes the loaded value a miss, on every store: it was read
// before the invalidation, so serving it until its TTL ends would bring
// back what the program invalidated.
func TestGetOrSetInvalidatedWhileLoading(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			c, _ := k.open(t, nil, nil, Options{})
			invalidatedWhileLoading(t, c)
		})
	}
	t.Run("miniredis", func(t *testing.T) { invalidatedWhileLoading(t, openRedisCache(t, miniredis.RunT(t).Addr())) })
	t.Run("redis", func(t *testing.T) { invalidatedWhileLoading(t, openRedisCache(t, testutil.RedisAddr(t))) })
}

func invalidatedWhileLoading(t *testing.T, c *Cache) {
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		v, err := GetOrSet(ctx, c, "product:1", time.Minute, func(context.Context) (string, error) {
			close(started)
			<-release
			return "old price", nil
		}, Tags("products"))
		if v != "old price" || err != nil {
			t.Errorf("GetOrSet = %q, %v; want the loaded value", v, err)
		}
	})
	<-started
	require.NoError(t, c.InvalidateTags(ctx, "products"))
	close(release)
	wg.Wait()
	v, err := GetAs[string](ctx, c, "product:1")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("after InvalidateTags, GetAs = %q, %v; want ErrNotFound", v, err)
	}
	v, err = GetOrSet(ctx, c, "product:1", time.Minute, func(context.Context) (string, error) { return "new price", nil }, Tags("products"))
	require.NoError(t, err)
	require.Equal(t, "new price", v, "the next GetOrSet loads again")
	v, err = GetAs[string](ctx, c, "product:1")
	require.NoError(t, err)
	require.Equal(t, "new price", v, "and its value is stored")
}

// openRedisCache returns a Cache on the Redis at addr, under a prefix of
// the test's own, cleared when the test ends.
func openRedisCache(t *testing.T, addr string) *Cache {
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = c.Clear(context.Background())
		_ = c.Close()
	})
	return c
}
