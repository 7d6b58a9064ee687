package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// sharedBackends returns a newBackend for backendtest that builds backends
// with unique prefixes on one shared client, and clears each prefix when its
// test ends, so that parallel runs and later tests never meet its keys.
func sharedBackends(client redis.UniversalClient) func(t *testing.T) backend.Backend {
	return func(t *testing.T) backend.Backend {
		opts := redisstore.Options{Client: client, Prefix: uniquePrefix(t)}
		t.Cleanup(func() {
			cleaner := redisstore.Must(opts)
			if err := cleaner.Clear(context.Background()); err != nil {
				t.Errorf("cleaning up %s: %v", opts.Prefix, err)
			}
		})
		return redisstore.Must(opts)
	}
}

func TestConformanceRedis(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	backendtest.Run(t, sharedBackends(client))
}

func TestConformanceRedisURL(t *testing.T) {
	t.Parallel()
	url := testutil.SlowRedisURL(t, 0)
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b := redisstore.Must(redisstore.Options{URL: url, Prefix: uniquePrefix(t)})
		t.Cleanup(func() { clearPrefix(t, url, b.Prefix()) })
		return b
	})
}

func clearPrefix(t *testing.T, url, prefix string) {
	c := redisstore.Must(redisstore.Options{URL: url, Prefix: prefix})
	defer c.Close()
	if err := c.Clear(context.Background()); err != nil {
		t.Errorf("cleaning up %s: %v", prefix, err)
	}
}

func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testutil.RedisClusterAddrs(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	backendtest.Run(t, sharedBackends(client))
}

func TestConformanceClusterURL(t *testing.T) {
	t.Parallel()
	url := "redis+cluster://" + strings.Join(testutil.RedisClusterAddrs(t), ",") + "?" + testutil.SlowRedisQuery
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b := redisstore.Must(redisstore.Options{URL: url, Prefix: uniquePrefix(t)})
		t.Cleanup(func() { clearPrefix(t, url, b.Prefix()) })
		return b
	})
}

// TestConformanceClusterHashTag: a prefix with a hash tag puts every key in
// one slot; everything still works (GetMany is then a single MGET).
func TestConformanceClusterHashTag(t *testing.T) {
	t.Parallel()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testutil.RedisClusterAddrs(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		opts := redisstore.Options{Client: client, Prefix: "{" + uniquePrefix(t) + "}"}
		t.Cleanup(func() { _ = redisstore.Must(opts).Clear(context.Background()) })
		return redisstore.Must(opts)
	})
}

func TestConformanceSentinel(t *testing.T) {
	t.Parallel()
	addr, master := testutil.RedisSentinel(t)
	client := redis.NewFailoverClient(&redis.FailoverOptions{ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout, MasterName: master, SentinelAddrs: []string{addr}})
	t.Cleanup(func() { _ = client.Close() })
	backendtest.Run(t, sharedBackends(client))
}

func TestSentinelURL(t *testing.T) {
	t.Parallel()
	addr, master := testutil.RedisSentinel(t)
	b := redisstore.Must(redisstore.Options{URL: "redis+sentinel://" + addr + "/" + master + "?" + testutil.SlowRedisQuery, Prefix: uniquePrefix(t)})
	t.Cleanup(func() { _ = b.Clear(context.Background()); _ = b.Close() })
	require.NoError(t, b.Set(ctx(t), "k", []byte("v"), 0))
	got, err := b.Get(ctx(t), "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(got))
	// The value is on the master Sentinel names.
	m, err := redis.NewSentinelClient(&redis.Options{Addr: addr}).GetMasterAddrByName(ctx(t), master).Result()
	require.NoError(t, err)
	direct := redis.NewClient(&redis.Options{Addr: m[0] + ":" + m[1], ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = direct.Close() })
	v, err := direct.Get(ctx(t), b.Prefix()+"k").Result()
	require.NoError(t, err)
	assert.Equal(t, "v", v)
}

// TestClusterGetManyAcrossSlots proves that GetMany and Delete work on keys
// spread over every master, where a plain MGET or DEL is refused.
func TestClusterGetManyAcrossSlots(t *testing.T) {
	t.Parallel()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testutil.RedisClusterAddrs(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	b := redisstore.Must(redisstore.Options{Client: client, Prefix: uniquePrefix(t)})
	t.Cleanup(func() { _ = b.Clear(context.Background()) })

	// Keys until every master holds some.
	nodes := map[string]bool{}
	var keys []string
	for i := 0; len(nodes) < 3 || len(keys) < 30; i++ {
		k := fmt.Sprintf("k%d", i)
		keys = append(keys, k)
		n, err := client.MasterForKey(ctx(t), b.Prefix()+k)
		require.NoError(t, err)
		nodes[n.Options().Addr] = true
		require.Less(t, i, 1000, "the Cluster does not have 3 masters")
	}
	var full []string
	for _, k := range keys {
		full = append(full, b.Prefix()+k)
	}
	require.ErrorContains(t, client.MGet(ctx(t), full...).Err(), "CROSSSLOT", "a plain MGET must fail for this test to mean anything")

	for i, k := range keys {
		if i%3 != 0 {
			require.NoError(t, b.Set(ctx(t), k, []byte("v"+k), 0))
		}
	}
	got, err := b.GetMany(ctx(t), keys)
	require.NoError(t, err)
	require.Len(t, got, len(keys))
	for i, k := range keys {
		if i%3 == 0 {
			assert.Nil(t, got[i], "slot %d (%s)", i, k)
		} else {
			assert.Equal(t, "v"+k, string(got[i]), "slot %d (%s)", i, k)
		}
	}

	require.NoError(t, b.Delete(ctx(t), keys...))
	got, err = b.GetMany(ctx(t), keys)
	require.NoError(t, err)
	for i := range keys {
		assert.Nil(t, got[i], "slot %d after Delete", i)
	}
}

// TestClearTouchesOnlyItsPrefixRedis: other keys on the same database
// survive Clear, on the real server.
func TestClearTouchesOnlyItsPrefixRedis(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	testClearTouchesOnlyItsPrefix(t, client, "glob*[ab]?"+uniquePrefix(t))
}

// TestClearTouchesOnlyItsPrefixCluster: the same, with the prefix's keys on
// every master.
func TestClearTouchesOnlyItsPrefixCluster(t *testing.T) {
	t.Parallel()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testutil.RedisClusterAddrs(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	testClearTouchesOnlyItsPrefix(t, client, "glob*[ab]?"+uniquePrefix(t))
}
