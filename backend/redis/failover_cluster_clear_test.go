package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestFailoverClusterOptionsRefused: ClientOptions with a MasterName and
// IsClusterMode make go-redis build its failover cluster client, which
// shapes Sentinel's master as a Cluster. Against a real Sentinel every
// Clear of such a Store failed ("ERR This instance has cluster support
// disabled": the master is no Cluster), so that InvalidateTags' overflow
// path and Cache.Clear could never succeed. New refuses it and says why;
// the same options without IsClusterMode make a Store that clears.
func TestFailoverClusterOptionsRefused(t *testing.T) {
	t.Parallel()
	_, err := redisstore.New(redisstore.Options{ClientOptions: &redis.UniversalOptions{MasterName: "m", Addrs: []string{"127.0.0.1:1"}, IsClusterMode: true}})
	require.ErrorIs(t, err, backend.ErrInvalidOption)
	assert.Contains(t, err.Error(), "drop IsClusterMode")

	addr, master := testutil.RedisSentinel(t)
	b, err := redisstore.New(redisstore.Options{
		ClientOptions: &redis.UniversalOptions{MasterName: master, Addrs: []string{addr}},
		Prefix:        uniquePrefix(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(ctx(t), "k", []byte("v"), 0))
	require.NoError(t, b.Clear(ctx(t)))
	_, err = b.Get(ctx(t), "k")
	require.ErrorIs(t, err, backend.ErrNotFound, "cleared")
}
