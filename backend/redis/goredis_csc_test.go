package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestGoRedisClientSideCacheRefused: go-redis's own client-side caching
// answers GET and MGET from its memory, which it invalidates
// asynchronously and which the Store's writes do not reach: on a real
// Redis, Store.Delete(k) then Store.Get(k) returned the deleted value 300
// times in 300, and a Cache served an entry right after InvalidateTags. New
// refuses it in ClientOptions and in a caller's client, and points at
// backend/near. New does not contact the server.
func TestGoRedisClientSideCacheRefused(t *testing.T) {
	t.Parallel()
	addr := []string{"127.0.0.1:1"}
	for _, tc := range []struct {
		name string
		opts redisstore.Options
	}{
		{"ClientOptions ClientSideCacheConfig", redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: addr, Protocol: 3,
			ClientSideCacheConfig: &redis.ClientSideCacheConfig{MaxEntries: 1000}}}},
		{"Client ClientSideCacheConfig", redisstore.Options{Client: redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: addr[0], Protocol: 3,
			ClientSideCacheConfig: &redis.ClientSideCacheConfig{MaxEntries: 1000}})}},
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
			assert.Contains(t, err.Error(), "backend/near")
		})
	}
}
