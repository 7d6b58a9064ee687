package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestReplicaReadsRefused: a Store whose client reads from replicas does
// not read its own writes. A replica lags its master, and one whose link to
// it is down keeps answering with what it had (replica-serve-stale-data):
// with a master, a replica and Sentinel, a Get after the Store's own Delete
// found the deleted value 22 times in 40, and the caching package, which
// relies on reading its own InvalidateTags, served invalidated entries.
// New refuses every configuration in which go-redis reads from replicas.
// New does not contact the server, so the addresses need not exist.
func TestReplicaReadsRefused(t *testing.T) {
	t.Parallel()
	two := []string{"127.0.0.1:1", "127.0.0.1:2"}
	for _, tc := range []struct {
		name string
		opts redisstore.Options
	}{
		{"cluster URL read_only", redisstore.Options{URL: "redis+cluster://127.0.0.1:1,127.0.0.1:2?read_only=true"}},
		{"cluster URL route_randomly", redisstore.Options{URL: "redis+cluster://127.0.0.1:1,127.0.0.1:2?route_randomly=true"}},
		{"cluster URL route_by_latency", redisstore.Options{URL: "redis+cluster://127.0.0.1:1?route_by_latency=true"}},
		{"sentinel URL replica_only", redisstore.Options{URL: "redis+sentinel://127.0.0.1:1/m?replica_only=true"}},
		{"ClientOptions sentinel RouteRandomly", redisstore.Options{ClientOptions: &redis.UniversalOptions{MasterName: "m", Addrs: two[:1], RouteRandomly: true}}},
		{"ClientOptions sentinel RouteByLatency", redisstore.Options{ClientOptions: &redis.UniversalOptions{MasterName: "m", Addrs: two[:1], RouteByLatency: true}}},
		{"ClientOptions sentinel ReadOnly (ReplicaOnly)", redisstore.Options{ClientOptions: &redis.UniversalOptions{MasterName: "m", Addrs: two[:1], ReadOnly: true}}},
		{"ClientOptions cluster ReadOnly", redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: two, ReadOnly: true}}},
		{"ClientOptions cluster RouteRandomly", redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: two, RouteRandomly: true}}},
		{"ClientOptions IsClusterMode RouteByLatency", redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: two[:1], IsClusterMode: true, RouteByLatency: true}}},
		{"Client cluster ReadOnly", redisstore.Options{Client: redis.NewClusterClient(&redis.ClusterOptions{Addrs: two, ReadOnly: true, ContextTimeoutEnabled: true})}},
		{"Client cluster RouteRandomly", redisstore.Options{Client: redis.NewClusterClient(&redis.ClusterOptions{Addrs: two, RouteRandomly: true, ContextTimeoutEnabled: true})}},
		{"Client failover cluster RouteByLatency", redisstore.Options{Client: redis.NewFailoverClusterClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: two[:1], RouteByLatency: true, ContextTimeoutEnabled: true})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Client != nil {
				t.Cleanup(func() { _ = tc.opts.Client.Close() })
			}
			b, err := redisstore.New(tc.opts)
			if err == nil {
				_ = b.Close()
			}
			require.ErrorIs(t, err, backend.ErrInvalidOption)
			assert.Contains(t, err.Error(), "reads must go to the masters")
		})
	}
	// A single node ignores these options (go-redis builds a plain client):
	// nothing is read from a replica, so they are accepted.
	b, err := redisstore.New(redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: two[:1], ReadOnly: true}})
	require.NoError(t, err)
	require.NoError(t, b.Close())
}
