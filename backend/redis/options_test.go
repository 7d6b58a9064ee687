package redisstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestURL checks the client each URL builds. New does not contact the
// server, so the addresses need not exist.
func TestURL(t *testing.T) {
	t.Parallel()
	open := func(t *testing.T, o redisstore.Options) redis.UniversalClient {
		b, err := redisstore.New(o)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b.Client()
	}
	t.Run("single", func(t *testing.T) {
		c, ok := open(t, redisstore.Options{URL: "redis://alice:pw@127.0.0.1:6380/2"}).(*redis.Client)
		require.True(t, ok, "redis:// builds a *redis.Client")
		o := c.Options()
		assert.Equal(t, "127.0.0.1:6380", o.Addr)
		assert.Equal(t, 2, o.DB)
		assert.Equal(t, "alice", o.Username)
		assert.Equal(t, "pw", o.Password)
		assert.Nil(t, o.TLSConfig)
		assert.Equal(t, redisstore.DefaultDialTimeout, o.DialTimeout)
		assert.Equal(t, redisstore.DefaultReadTimeout, o.ReadTimeout)
		assert.Equal(t, redisstore.DefaultWriteTimeout, o.WriteTimeout)
		assert.Equal(t, redisstore.DefaultMaxRetries, o.MaxRetries)
		assert.Equal(t, 1, o.DialerRetries)
		assert.True(t, o.ContextTimeoutEnabled)
	})
	t.Run("tls", func(t *testing.T) {
		o := open(t, redisstore.Options{URL: "rediss://cache.example:6380"}).(*redis.Client).Options()
		require.NotNil(t, o.TLSConfig)
		assert.Equal(t, "cache.example", o.TLSConfig.ServerName)
	})
	t.Run("url options win over defaults", func(t *testing.T) {
		o := open(t, redisstore.Options{URL: "redis://h:1?dial_timeout=2s&max_retries=-1"}).(*redis.Client).Options()
		assert.Equal(t, 2*time.Second, o.DialTimeout)
		assert.Equal(t, 0, o.MaxRetries, "max_retries=-1 disables retries")
		s := open(t, redisstore.Options{URL: "redis+sentinel://h:1/m?dial_timeout=3s"}).(*redis.Client).Options()
		assert.Equal(t, 3*time.Second, s.DialTimeout)
		assert.True(t, s.ContextTimeoutEnabled, "a URL cannot turn it off (TestURLContextTimeoutDisabledIsRefused)")
	})
	t.Run("fields win over url options", func(t *testing.T) {
		o := open(t, redisstore.Options{URL: "redis://h:1?dial_timeout=2s", DialTimeout: time.Second, MaxRetries: 3}).(*redis.Client).Options()
		assert.Equal(t, time.Second, o.DialTimeout)
		assert.Equal(t, 3, o.MaxRetries)
	})
	t.Run("cluster", func(t *testing.T) {
		c, ok := open(t, redisstore.Options{URL: "redis+cluster://u:p@h1:7001,h2:7002,h3:7003?pool_size=7"}).(*redis.ClusterClient)
		require.True(t, ok, "redis+cluster:// builds a *redis.ClusterClient")
		o := c.Options()
		assert.Equal(t, []string{"h1:7001", "h2:7002", "h3:7003"}, o.Addrs)
		assert.Equal(t, "u", o.Username)
		assert.Equal(t, "p", o.Password)
		assert.Equal(t, 7, o.PoolSize)
		assert.Equal(t, redisstore.DefaultReadTimeout, o.ReadTimeout)
		assert.Equal(t, 1, o.DialerRetries)
		assert.Nil(t, o.TLSConfig)
	})
	t.Run("cluster tls", func(t *testing.T) {
		o := open(t, redisstore.Options{URL: "rediss+cluster://h1:7001,h2:7002/"}).(*redis.ClusterClient).Options()
		assert.Equal(t, []string{"h1:7001", "h2:7002"}, o.Addrs)
		assert.NotNil(t, o.TLSConfig)
	})
	t.Run("sentinel", func(t *testing.T) {
		c, ok := open(t, redisstore.Options{URL: "redis+sentinel://h1:26379,h2:26379/mymaster/3?password=masterpw"}).(*redis.Client)
		require.True(t, ok, "redis+sentinel:// builds a failover *redis.Client")
		o := c.Options()
		assert.Equal(t, 3, o.DB)
		assert.Equal(t, "masterpw", o.Password)
		assert.Equal(t, redisstore.DefaultDialTimeout, o.DialTimeout)
	})
	t.Run("client options", func(t *testing.T) {
		uo := &redis.UniversalOptions{Addrs: []string{"h1:1", "h2:2"}, ReadTimeout: time.Second}
		c, ok := open(t, redisstore.Options{ClientOptions: uo}).(*redis.ClusterClient)
		require.True(t, ok, "two addresses build a *redis.ClusterClient")
		assert.Equal(t, time.Second, c.Options().ReadTimeout)
		assert.Equal(t, redisstore.DefaultDialTimeout, c.Options().DialTimeout)
		assert.Zero(t, uo.DialTimeout, "ClientOptions must not be modified")
	})
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	cases := []struct {
		name string
		opts redisstore.Options
		want string // in the error
	}{
		{"nothing", redisstore.Options{}, "exactly one of URL, ClientOptions and Client"},
		{"url and client", redisstore.Options{URL: "redis://h:1", Client: client}, "exactly one"},
		{"no scheme", redisstore.Options{URL: "h:6379"}, "Options.URL: has no scheme"},
		{"http", redisstore.Options{URL: "http://h:1"}, `scheme "http" is not supported`},
		{"unknown kind", redisstore.Options{URL: "redis+ring://h:1"}, `scheme "redis+ring" is not supported`},
		{"unix cluster", redisstore.Options{URL: "unix+cluster:///tmp/s"}, "is not supported"},
		{"cluster db", redisstore.Options{URL: "redis+cluster://h:1,h:2/3"}, "only database 0"},
		{"cluster empty host", redisstore.Options{URL: "redis+cluster://h:1,,h:2"}, "empty host"},
		{"sentinel no master", redisstore.Options{URL: "redis+sentinel://h:1"}, "names its master"},
		{"unknown url option", redisstore.Options{URL: "redis://h:1?colour=blue"}, "colour"},
		{"negative dial", redisstore.Options{URL: "redis://h:1", DialTimeout: -time.Second}, "Options.DialTimeout: -1s is negative"},
		{"negative read", redisstore.Options{URL: "redis://h:1", ReadTimeout: -1}, "Options.ReadTimeout"},
		{"negative write", redisstore.Options{URL: "redis://h:1", WriteTimeout: -1}, "Options.WriteTimeout"},
		{"retries", redisstore.Options{URL: "redis://h:1", MaxRetries: 11}, "Options.MaxRetries: 11 is out of range; want -1 (none), 0 (default 1) to 10"},
		{"retries low", redisstore.Options{URL: "redis://h:1", MaxRetries: -2}, "Options.MaxRetries"},
		{"timeout with client", redisstore.Options{Client: client, ReadTimeout: time.Second}, "Options.ReadTimeout: has no effect with Options.Client"},
		{"retries with client", redisstore.Options{Client: client, MaxRetries: 2}, "Options.MaxRetries: has no effect"},
		// go-redis panics on these for a Sentinel master.
		{"sentinel route_by_latency", redisstore.Options{URL: "redis+sentinel://h:1/m?route_by_latency=true"}, "for a Redis Cluster"},
		{"sentinel route_randomly", redisstore.Options{URL: "redis+sentinel://h:1/m?route_randomly=true"}, "for a Redis Cluster"},
		// go-redis allocates for every pool slot in New.
		{"pool_size", redisstore.Options{URL: "redis://h:1?pool_size=1000000"}, "outside 0..10000"},
		{"cluster max_active_conns", redisstore.Options{URL: "redis+cluster://h:1?max_active_conns=2147483647"}, "outside 0..10000"},
		{"sentinel min_idle_conns", redisstore.Options{URL: "redis+sentinel://h:1/m?min_idle_conns=10001"}, "outside 0..10000"},
		{"max_redirects", redisstore.Options{URL: "redis+cluster://h:1?max_redirects=1000"}, "outside -1 (none) to 10"},
		// go-redis reads a negative timeout as none.
		{"url read_timeout", redisstore.Options{URL: "redis://h:1?read_timeout=-1s"}, "negative timeout"},
		{"url dial_timeout", redisstore.Options{URL: "redis+cluster://h:1?dial_timeout=-5s"}, "negative timeout"},
		{"url pool_timeout", redisstore.Options{URL: "redis+sentinel://h:1/m?pool_timeout=-1"}, "negative timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := redisstore.New(tc.opts)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.True(t, strings.HasPrefix(err.Error(), "redisstore: "), "error %q", err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Panics(t, func() { redisstore.Must(tc.opts) })
		})
	}
}

// TestURLErrorsHoldNoPassword: a URL may carry a password; errors about it
// must not repeat it.
func TestURLErrorsHoldNoPassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://user:s3cret@host:notaport",
		"redis://user:s3cret@host:1/notadb",
		"redis+cluster://user:s3cret@h:1,h:2/9",
		"redis+cluster://user:s3cret@h:1,h:2?pool_size=x",
		"redis+sentinel://user:s3cret@h:1/m?bogus=1",
		"bogus://user:s3cret@h:1",
	} {
		_, err := redisstore.New(redisstore.Options{URL: u})
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), "s3cret")
	}
}

// TestURLRawPasswordHoldsNoPart: a password pasted raw with a '/', '?' or
// '#' ends the host early, so that its first part reads as the host and
// the rest as the path; the URL is refused, and the error shows neither.
func TestURLRawPasswordHoldsNoPart(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://user:s3cr/PART2@host:6379/0",
		"redis://user:1234/5678@host:6379/0",
		"redis://user:s3cr?PART2@host:6379/0",
		"redis://user:1234#5678@host:6379/0",
		"redis+cluster://user:1234/5678@h1:1,h2:2",
		"redis+sentinel://user:1234/5678@h1:1,h2:2/m",
		"redis+sentinel://user:s3cr?PART2@h1:1,h2:2/m",
		"unix://user:1234/5678@/run/redis.sock",
	} {
		_, err := redisstore.New(redisstore.Options{URL: u})
		require.Error(t, err, u)
		assert.ErrorIs(t, err, backend.ErrInvalidOption, u)
		for _, part := range []string{"s3cr", "PART2", "1234", "5678"} {
			assert.NotContains(t, err.Error(), part, u)
		}
	}
	// A Unix socket's path may hold an '@' when no host precedes it.
	_, err := redisstore.New(redisstore.Options{URL: "unix://user:pw@/run/redis@1.sock"})
	assert.NoError(t, err)
}
