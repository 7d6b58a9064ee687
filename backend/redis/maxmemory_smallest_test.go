package redisstore_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// The values of the tests below: over a third of 4 MiB less 1 MiB (the
// bound of the smallest server's maxmemory), and under the bound of 64 MiB;
// and one under both bounds.
var (
	overSmallest  = bytes.Repeat([]byte("x"), 1536<<10)
	underSmallest = bytes.Repeat([]byte("m"), 512<<10)
)

// smallestMaxmemory is how the guard's error names a maxmemory of 4 MiB.
const smallestMaxmemory = "server's maxmemory (4194304 bytes)"

// assertGuardedBySmallest checks, for a key that lives on a server
// without a limit or with a large one, that a value over the smallest
// server's bound is refused before it is sent (the key holds nothing on
// any server afterwards) and that one under it is stored.
func assertGuardedBySmallest(t *testing.T, b *redisstore.Store, key string, exists func(key string) int64) {
	t.Helper()
	ctx := context.Background()
	err := b.Set(ctx, key, overSmallest, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "a value over a third of the smallest maxmemory was not refused")
	assert.Contains(t, err.Error(), smallestMaxmemory)
	assert.Zero(t, exists(b.Prefix()+key), "the refused value was stored")

	require.NoError(t, b.Set(ctx, key, underSmallest, time.Hour))
	got, err := b.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, underSmallest, got)
}

// On a Ring, a value's shard is not the guard's concern: the Store reads
// every shard's maxmemory and keeps the smallest that is not 0 (no limit),
// so a value over a third of the smallest (less 1 MiB) is refused whichever
// shard its key lives on, and one under it is stored on any.
func TestMaxmemoryRingGuardsWithItsSmallestShard(t *testing.T) {
	addrs := map[string]string{
		"nolimit": redisWith(t, "--maxmemory", "0"),
		"large":   redisWith(t, "--maxmemory", "64mb"),
		"small":   redisWith(t, "--maxmemory", "4mb"),
	}
	admin := map[string]*redis.Client{}
	for name, addr := range addrs {
		admin[name] = redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = admin[name].Close() })
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = ring.Close() })
	b, err := redisstore.New(redisstore.Options{Client: ring, Prefix: "ring"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ctx := context.Background()
	exists := func(key string) int64 {
		var n int64
		for _, a := range admin {
			n += a.Exists(ctx, key).Val()
		}
		return n
	}

	// A key on each shard without the smallest limit: small values show
	// where the Ring puts a key.
	keyOn := map[string]string{}
	for i := 0; len(keyOn) < 2 && i < 1000; i++ {
		k := "k" + strconv.Itoa(i)
		require.NoError(t, b.Set(ctx, k, []byte("v"), time.Hour))
		for _, name := range []string{"nolimit", "large"} {
			if _, ok := keyOn[name]; !ok && admin[name].Exists(ctx, b.Prefix()+k).Val() == 1 {
				keyOn[name] = k
			}
		}
		require.NoError(t, b.Delete(ctx, k))
	}
	for _, name := range []string{"nolimit", "large"} {
		t.Run("key on "+name, func(t *testing.T) {
			require.Contains(t, keyOn, name, "no key found on shard %s", name)
			assertGuardedBySmallest(t, b, keyOn[name], exists)
		})
	}
}

// On a Cluster, a value's master is not known before it is sent: the Store
// reads every master's maxmemory and keeps the smallest that is not 0, so a
// value over a third of the smallest (less 1 MiB) is refused whichever
// master its key lives on. The test's own Cluster, whose masters are given
// different limits.
func TestMaxmemoryClusterGuardsWithItsSmallestMaster(t *testing.T) {
	c := startOwnCluster(t, 3, 3)
	ctx := context.Background()
	for i, limit := range []string{"0", "64mb", "4mb"} {
		require.NoError(t, c.admin[i].ConfigSet(ctx, "maxmemory", limit).Err())
	}
	b, err := redisstore.New(redisstore.Options{URL: c.url("read_timeout=10s&write_timeout=10s"), Prefix: "cluster"}) // 1.5 MiB values under load
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	exists := func(key string) int64 {
		var n int64
		for _, a := range c.admin {
			n += a.Exists(ctx, key).Val() // a MOVED error counts 0
		}
		return n
	}
	for i, name := range []string{"nolimit", "large"} {
		t.Run("key on "+name, func(t *testing.T) {
			assertGuardedBySmallest(t, b, c.keyOn(t, b.Prefix(), i), exists)
		})
	}
}
