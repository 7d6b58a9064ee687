package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestClearRingDeletesEachShardsOwnKeys: Clear scans each shard of a
// Ring and deletes the keys it found there. 8b0e7f6 sent that delete
// through the Ring, which routes it by its first key's hash, not to the
// shard scanned: a key a shard holds though the Ring's hash names another
// shard now (written before a shard was added, or while the other one was
// down) survived Clear. The delete goes to the shard scanned again.
func TestClearRingDeletesEachShardsOwnKeys(t *testing.T) {
	testutil.RedisAddr(t) // skips without the Redis servers, as the other tests
	bg := context.Background()
	var addrs [2]string
	var raws [2]*redis.Client
	for i := range addrs {
		p := testutil.StartProcess(t, "redis-server", func(port int) []string {
			return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
		})
		addrs[i] = p.Addr
		raws[i] = redis.NewClient(&redis.Options{Addr: p.Addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = raws[i].Close() })
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": addrs[0], "b": addrs[1]}, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = ring.Close() })
	b := redisstore.Must(redisstore.Options{Client: ring, Prefix: "ringclear"})
	t.Cleanup(func() { _ = b.Close() })
	// A key the Ring puts on the second shard, written on the first.
	var stray string
	for i := 0; stray == "" && i < 1000; i++ {
		k := fmt.Sprintf("k%d", i)
		require.NoError(t, b.Set(bg, k, []byte("v"), time.Minute))
		if n, err := raws[1].Exists(bg, b.Prefix()+k).Result(); err == nil && n == 1 {
			stray = b.Prefix() + k
		}
	}
	require.NotEmpty(t, stray, "a key of the second shard")
	require.NoError(t, raws[0].Set(bg, stray, "v", time.Minute).Err())
	require.NoError(t, b.Clear(bg))
	for i, raw := range raws {
		n, err := raw.DBSize(bg).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "shard %d keeps keys after Clear", i)
	}
}
