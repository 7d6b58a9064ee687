package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// A nil client in Options.Client (a typed nil, or a program's type that
// embeds a go-redis client left nil: a field not set yet, a constructor
// that failed) is an invalid option, not a panic in New.
func TestNewRefusesANilClient(t *testing.T) {
	t.Parallel()
	type wrappedClient struct{ *redis.Client }
	type wrappedCluster struct{ *redis.ClusterClient }
	type wrappedRing struct{ *redis.Ring }
	type wrappedUniversal struct{ redis.UniversalClient }
	type wrappedTwice struct{ *wrappedClient }
	for _, tc := range []struct {
		name string
		c    redis.UniversalClient
	}{
		{"embedded nil *redis.Client", wrappedClient{}},
		{"embedded nil *redis.ClusterClient", wrappedCluster{}},
		{"embedded nil *redis.Ring", wrappedRing{}},
		{"pointer to a wrapper of a nil *redis.Client", &wrappedClient{}},
		{"embedded nil redis.UniversalClient", wrappedUniversal{}},
		{"wrapper of a wrapper of a nil *redis.Client", wrappedTwice{&wrappedClient{}}},
		{"nil wrapper of a wrapper", wrappedTwice{}},
		{"typed nil *redis.Client", (*redis.Client)(nil)},
		{"typed nil *redis.ClusterClient", (*redis.ClusterClient)(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() {
				var b *redisstore.Store
				if b, err = redisstore.New(redisstore.Options{Client: tc.c}); err == nil {
					_ = b.Close()
				}
			})
			require.ErrorIs(t, err, backend.ErrInvalidOption)
			require.Contains(t, err.Error(), "nil")
		})
	}
}

// A wrapper whose client is set is taken, whatever else it embeds.
func TestNewTakesAWrapperWithOtherNilFields(t *testing.T) {
	t.Parallel()
	type logger struct{}
	type wrapped struct {
		*redis.Client
		*logger
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	w := wrapped{Client: c}
	require.Nil(t, w.logger)
	b, err := redisstore.New(redisstore.Options{Client: w})
	require.NoError(t, err)
	require.NoError(t, b.Close())
}
