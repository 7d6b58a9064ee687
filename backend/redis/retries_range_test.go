package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestRetriesOutOfRangeRefused: go-redis reads a retry or redirect count
// of -1 as none and 0 as its default, and keeps any other negative one:
// its loop "for attempt := 0; attempt <= MaxRetries" then never runs, and
// every command returns a nil error without being sent (Set stored
// nothing, Get of a key never written was an empty hit, Add added for
// everyone, Incr counted nothing). New refuses counts outside -1..10, from
// the URL, ClientOptions and a caller's client, as for Options.MaxRetries.
func TestRetriesOutOfRangeRefused(t *testing.T) {
	t.Parallel()
	two := []string{"127.0.0.1:1", "127.0.0.1:2"}
	for _, tc := range []struct {
		name, want string
		opts       redisstore.Options
	}{
		{"URL max_retries=-2", "max_retries=-2", redisstore.Options{URL: "redis://127.0.0.1:1/9?max_retries=-2"}},
		{"URL max_retries=11", "max_retries=11", redisstore.Options{URL: "redis://127.0.0.1:1/9?max_retries=11"}},
		{"cluster URL max_retries=-2", "max_retries=-2", redisstore.Options{URL: "redis+cluster://127.0.0.1:1?max_retries=-2"}},
		{"sentinel URL max_retries=-5", "max_retries=-5", redisstore.Options{URL: "redis+sentinel://127.0.0.1:1/m?max_retries=-5"}},
		{"URL max_redirects=-2", "max_redirects=-2", redisstore.Options{URL: "redis+cluster://127.0.0.1:1,127.0.0.1:2?max_redirects=-2"}},
		{"URL max_redirects=1000", "max_redirects=1000", redisstore.Options{URL: "redis+cluster://127.0.0.1:1?max_redirects=1000"}},
		{"ClientOptions MaxRetries=-2", "ClientOptions.MaxRetries", redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: two[:1], MaxRetries: -2}}},
		{"ClientOptions MaxRetries=11", "ClientOptions.MaxRetries", redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: two[:1], MaxRetries: 11}}},
		{"ClientOptions MaxRedirects=-2", "ClientOptions.MaxRedirects", redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: two, MaxRedirects: -2}}},
		{"ClientOptions MaxRedirects=11", "ClientOptions.MaxRedirects", redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: two, MaxRedirects: 11}}},
		{"Client MaxRetries=-2", "MaxRetries", redisstore.Options{Client: redis.NewClient(&redis.Options{Addr: two[0], MaxRetries: -2, ContextTimeoutEnabled: true})}},
		{"Client cluster MaxRedirects=-2", "MaxRedirects", redisstore.Options{Client: redis.NewClusterClient(&redis.ClusterOptions{Addrs: two, MaxRedirects: -2, ContextTimeoutEnabled: true})}},
		{"Client cluster MaxRetries=-2", "MaxRetries", redisstore.Options{Client: redis.NewClusterClient(&redis.ClusterOptions{Addrs: two, MaxRetries: -2, ContextTimeoutEnabled: true})}},
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
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// -1 (none) and 10 are in range.
	for _, o := range []redisstore.Options{
		{URL: "redis://127.0.0.1:1/9?max_retries=-1"},
		{URL: "redis+cluster://127.0.0.1:1?max_redirects=-1&max_retries=10"},
		{ClientOptions: &redis.UniversalOptions{Addrs: two, MaxRetries: -1, MaxRedirects: 10}},
	} {
		b, err := redisstore.New(o)
		require.NoError(t, err)
		require.NoError(t, b.Close())
	}
	for _, c := range []redis.UniversalClient{
		redis.NewClient(&redis.Options{Addr: two[0], MaxRetries: -1, ContextTimeoutEnabled: true}),
		redis.NewClusterClient(&redis.ClusterOptions{Addrs: two, MaxRedirects: -1, MaxRetries: -1, ContextTimeoutEnabled: true}),
	} {
		b, err := redisstore.New(redisstore.Options{Client: c})
		require.NoError(t, err)
		require.NoError(t, b.Close())
		require.NoError(t, c.Close())
	}
}

// TestNegativeURLMaxRetriesRealServer: on a real server, a URL with
// max_retries=-2 made Set return nil and write nothing. It is refused; if
// it were not, Set must have written.
func TestNegativeURLMaxRetriesRealServer(t *testing.T) {
	addr := testutil.RedisAddr(t)
	ctx := context.Background()
	b, err := redisstore.New(redisstore.Options{
		URL:    "redis://" + addr + "/9?max_retries=-2",
		Prefix: "negretries:" + time.Now().Format("150405.000000"),
	})
	require.ErrorIs(t, err, backend.ErrInvalidOption)
	if b != nil {
		defer b.Close()
		setErr := b.Set(ctx, "k", []byte("v"), time.Minute)
		raw := redis.NewClient(&redis.Options{Addr: addr, DB: 9, ContextTimeoutEnabled: true})
		defer raw.Close()
		n, _ := raw.Exists(ctx, b.Prefix()+"k").Result()
		require.False(t, setErr == nil && n == 0, "Set returned nil but wrote nothing")
	}
}

// TestNegativeMaxRedirectsRealCluster: on a real Cluster, max_redirects=-2
// made Set return nil and write nothing, and Get of a key never written an
// empty hit. It is refused; if it were not, both must be true to Redis.
func TestNegativeMaxRedirectsRealCluster(t *testing.T) {
	addrs := testutil.RedisClusterAddrs(t)
	ctx := context.Background()
	b, err := redisstore.New(redisstore.Options{
		ClientOptions: &redis.UniversalOptions{Addrs: addrs, MaxRedirects: -2},
		Prefix:        "negredirects:" + time.Now().Format("150405.000000"),
	})
	require.ErrorIs(t, err, backend.ErrInvalidOption)
	if b != nil {
		defer b.Close()
		setErr := b.Set(ctx, "k", []byte("v"), time.Minute)
		_, getErr := b.Get(ctx, "never-written")
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
		defer c.Close()
		_, rawErr := c.Get(ctx, b.Prefix()+"k").Result()
		require.False(t, setErr == nil && errors.Is(rawErr, redis.Nil), "Set returned nil but wrote nothing")
		require.ErrorIs(t, getErr, backend.ErrNotFound, "Get of a key never written must miss")
	}
}
