package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// A program's own client type that embeds a go-redis client
// (instrumentation, a helper type) shows go-redis's options as the client
// itself does (Options is promoted), and Clear already treats such a type
// as the client it embeds. New refuses it on the same grounds as the bare
// client: reads from replicas (stale reads after the Store's own Delete or
// InvalidateTags), or a retry count below -1 (go-redis sends no command and
// every call "succeeds"). New does not dial: the addresses need not exist.
func TestNewRefusesWrappedClientAsTheBareOne(t *testing.T) {
	type wrappedCluster struct{ *redis.ClusterClient }
	type wrappedClient struct{ *redis.Client }
	type wrappedRing struct{ *redis.Ring }
	addrs := []string{"127.0.0.1:1"}
	cluster := func(o redis.ClusterOptions) *redis.ClusterClient {
		o.Addrs, o.ContextTimeoutEnabled = addrs, true
		return redis.NewClusterClient(&o)
	}
	client := func(o redis.Options) *redis.Client {
		o.Addr, o.ContextTimeoutEnabled = addrs[0], true
		return redis.NewClient(&o)
	}
	ring := func(o redis.RingOptions) *redis.Ring {
		o.Addrs, o.ContextTimeoutEnabled = map[string]string{"a": addrs[0]}, true
		return redis.NewRing(&o)
	}
	for _, tc := range []struct {
		name       string
		bare, wrap redis.UniversalClient
		want       string // in the error
	}{
		{"cluster ReadOnly", cluster(redis.ClusterOptions{ReadOnly: true}), nil, "replicas"},
		{"cluster RouteRandomly", cluster(redis.ClusterOptions{RouteRandomly: true}), nil, "replicas"},
		{"cluster MaxRedirects -2", cluster(redis.ClusterOptions{MaxRedirects: -2}), nil, "below -1"},
		{"client MaxRetries -2", client(redis.Options{MaxRetries: -2}), nil, "below -1"},
		{"ring MaxRetries -2", ring(redis.RingOptions{MaxRetries: -2}), nil, "below -1"},
		{"client ClientSideCacheConfig", client(redis.Options{Protocol: 3, ClientSideCacheConfig: &redis.ClientSideCacheConfig{}}), nil, "client-side caching"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.bare.Close()
			switch c := tc.bare.(type) {
			case *redis.ClusterClient:
				tc.wrap = wrappedCluster{c}
			case *redis.Client:
				tc.wrap = wrappedClient{c}
			case *redis.Ring:
				tc.wrap = wrappedRing{c}
			}
			for _, c := range []redis.UniversalClient{tc.bare, tc.wrap} {
				b, err := redisstore.New(redisstore.Options{Client: c})
				if err == nil {
					_ = b.Close()
				}
				require.ErrorIs(t, err, backend.ErrInvalidOption, "%T", c)
				assert.Contains(t, err.Error(), tc.want, "%T", c)
			}
		})
	}
}
