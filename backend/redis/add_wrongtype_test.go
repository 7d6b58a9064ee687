//go:build !plan9

package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestAddReplacesKeyOfAnotherType: Get reads a key of another Redis type (a
// list someone put under the prefix) as a miss, and Set replaces it, but
// Add's SET NX refused to: the key was absent to every reader and present
// to every writer. A lease under such a key was never taken, so each miss
// of its entry waited the whole lease time. Add now takes it as Get sees it.
// On miniredis, a real Redis and a real Cluster (the script's key routes
// to its slot).
func TestAddReplacesKeyOfAnotherType(t *testing.T) {
	t.Parallel()
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		m := miniredis.RunT(t)
		addOverForeign(t, redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true}))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		addOverForeign(t, redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout}))
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		addOverForeign(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: testutil.RedisClusterAddrs(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout}))
	})
}

func addOverForeign(t *testing.T, client redis.UniversalClient) {
	t.Cleanup(func() { _ = client.Close() })
	prefix := uniquePrefix(t)
	b := redisstore.Must(redisstore.Options{Client: client, Prefix: prefix})
	t.Cleanup(func() { _ = b.Clear(context.Background()) })
	require.NoError(t, client.LPush(ctx(t), prefix+"list", "x").Err())

	added, err := b.Add(ctx(t), "list", []byte("v"), time.Minute)
	require.NoError(t, err)
	assert.True(t, added, "a key Get reads as a miss is free to Add")
	v, err := b.Get(ctx(t), "list")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
	ttl, err := client.PTTL(ctx(t), prefix+"list").Result()
	require.NoError(t, err)
	assert.True(t, ttl > 0 && ttl <= time.Minute, "with its TTL: %v", ttl)

	added, err = b.Add(ctx(t), "list", []byte("w"), time.Minute)
	require.NoError(t, err)
	assert.False(t, added, "an entry of the Store is still never replaced")
	v, err = b.Get(ctx(t), "list")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))

	require.NoError(t, client.Set(ctx(t), prefix+"plain", "theirs", 0).Err())
	added, err = b.Add(ctx(t), "plain", []byte("v"), 0)
	require.NoError(t, err)
	assert.False(t, added, "a string is an entry: Add leaves it")
}

// TestAddOfAnEntryNeedsNoScript: Add of a key that holds a string (a lease
// another process holds, a version key made meanwhile) is the common case
// of SET NX finding the key. It must answer false as it did, not run the
// script for a key of another type: under an ACL without EVAL and EVALSHA
// every such Add was an error, and so every lease held elsewhere a backend
// failure.
func TestAddOfAnEntryNeedsNoScript(t *testing.T) {
	t.Parallel()
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(ctx(t), "ACL", "SETUSER", "noeval", "on", ">pw", "~*", "+@all", "-eval", "-evalsha").Err())
	client, rec := recorded(t, []string{srv.Addr}, "noeval")
	b := redisstore.Must(redisstore.Options{Client: client, Prefix: uniquePrefix(t)})

	added, err := b.Add(ctx(t), "k", []byte("v"), time.Minute)
	require.NoError(t, err)
	require.True(t, added)
	rec.take()
	added, err = b.Add(ctx(t), "k", []byte("w"), time.Minute)
	require.NoError(t, err, "a string under the key: no script to run")
	assert.False(t, added)
	assert.NotContains(t, rec.take(), "evalsha")
	v, err := b.Get(ctx(t), "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
}
