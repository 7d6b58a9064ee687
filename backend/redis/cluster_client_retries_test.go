package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestClusterClientMaxRetriesBoundRealCluster: a *redis.ClusterClient in
// Options.Client is refused below MaxRetries -1, where a *redis.Client and
// a *redis.Ring are refused below 0, and both bounds are right. New sees
// each client's options after go-redis's init: a Client's and a Ring's
// init read -1 as none (0) and keep a lower count, which their own loop
// then never runs; a ClusterClient's init reads 0 as -1 and keeps -1 and
// lower counts as they are, and hands MaxRetries to each node's client,
// whose init reads -1 as none (one try) and keeps a lower one. On the
// shared Cluster: -1 sends every command once (Set stores, Get misses),
// and -2 is refused, as its node clients send no command: a Set returns
// nil and stores nothing, a Get of a key never written is an empty hit.
func TestClusterClientMaxRetriesBoundRealCluster(t *testing.T) {
	t.Parallel()
	addrs := testutil.RedisClusterAddrs(t)
	ctx := context.Background()
	plain := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = plain.Close() })
	cluster := func(retries int) *redis.ClusterClient {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRetries: retries, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	t.Run("-1 is one try", func(t *testing.T) {
		c := cluster(-1)
		b, err := redisstore.New(redisstore.Options{Client: c, Prefix: uniquePrefix(t)})
		require.NoError(t, err, "a ClusterClient with MaxRetries -1 (none) was refused")
		t.Cleanup(func() { _ = b.Close() })
		require.NoError(t, b.Set(ctx, "k", []byte("v"), time.Minute))
		got, err := plain.Get(ctx, b.Prefix()+"k").Result()
		require.NoError(t, err, "Set returned nil but stored nothing")
		assert.Equal(t, "v", got)
		_, err = b.Get(ctx, "never-written")
		require.ErrorIs(t, err, backend.ErrNotFound)
		n, err := c.MasterForKey(ctx, b.Prefix()+"k")
		require.NoError(t, err)
		assert.Equal(t, 0, n.Options().MaxRetries, "a node client's MaxRetries after go-redis's init (0: one try)")
	})

	t.Run("-2 sends nothing", func(t *testing.T) {
		c := cluster(-2)
		prefix := uniquePrefix(t)
		// What a Store on this client would do, and why New refuses it (the
		// doc's claim): go-redis reports success for commands it never sent.
		setErr := c.Set(ctx, prefix+"raw", "v", time.Minute).Err()
		_, rawErr := plain.Get(ctx, prefix+"raw").Result()
		got, getErr := c.Get(ctx, prefix+"never-written").Result()
		require.True(t, setErr == nil && errors.Is(rawErr, redis.Nil) && getErr == nil && got == "",
			"go-redis now sends commands with MaxRetries -2 on a ClusterClient (Set: %v, stored: %v, Get: %q %v): checkClient's bound and the doc may change",
			setErr, rawErr, got, getErr)

		b, err := redisstore.New(redisstore.Options{Client: c, Prefix: prefix})
		require.ErrorIs(t, err, backend.ErrInvalidOption)
		assert.Contains(t, err.Error(), "MaxRetries")
		if b != nil { // not refused: it must then work
			defer b.Close()
			setErr := b.Set(ctx, "k", []byte("v"), time.Minute)
			_, rawErr := plain.Get(ctx, b.Prefix()+"k").Result()
			require.False(t, setErr == nil && errors.Is(rawErr, redis.Nil), "Set returned nil but stored nothing")
			_, err := b.Get(ctx, "never-written")
			require.ErrorIs(t, err, backend.ErrNotFound, "Get of a key never written must miss")
		}
	})
}
