package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// A zero go-redis client (&redis.Client{}, not made by NewClient) is as
// unusable as a nil one: New must answer it with an invalid-option error,
// not a panic.
func TestNewRefusesAZeroClient(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    redis.UniversalClient
	}{
		{"zero *redis.Client", &redis.Client{}},
		{"zero *redis.ClusterClient", &redis.ClusterClient{}},
		{"zero *redis.Ring", &redis.Ring{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() {
				var b *redisstore.Store
				b, err = redisstore.New(redisstore.Options{Client: tc.c})
				if b != nil {
					_ = b.Close()
				}
			})
			require.ErrorIs(t, err, backend.ErrInvalidOption)
		})
	}
}
