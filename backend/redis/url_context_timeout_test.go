package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// A URL cannot turn off ContextTimeoutEnabled: a client without it ignores
// the call's deadline (a Cache's Options.Timeout), as a caller's client
// without it does, which New refuses. go-redis reads
// context_timeout_enabled in a Sentinel URL only (it is an unknown option
// of the others, refused too); true there, or leaving it out, builds a
// client with it on.
func TestURLContextTimeoutDisabledIsRefused(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"redis+sentinel://h:1/m?context_timeout_enabled=false",
		"redis+sentinel://h:1/m?context_timeout_enabled=0",
		"redis+sentinel://h:1/m?context_timeout_enabled=",
		"rediss+sentinel://h:1,h:2/m/3?context_timeout_enabled=false",
		"redis://h:1?context_timeout_enabled=false",
		"redis+cluster://h:1,h:2?context_timeout_enabled=false",
	} {
		_, err := redisstore.New(redisstore.Options{URL: url})
		require.ErrorIs(t, err, backend.ErrInvalidOption, url)
		require.Contains(t, err.Error(), "context_timeout_enabled", url)
	}
	for _, url := range []string{
		"redis+sentinel://h:1/m?context_timeout_enabled=true",
		"redis+sentinel://h:1/m?context_timeout_enabled=1",
		"redis+sentinel://h:1/m",
	} {
		b, err := redisstore.New(redisstore.Options{URL: url})
		require.NoError(t, err, url)
		require.True(t, b.Client().(*redis.Client).Options().ContextTimeoutEnabled, url)
		require.NoError(t, b.Close())
	}
}
