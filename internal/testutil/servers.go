// Package testutil holds what the module's tests share: the addresses of the
// real servers CI starts (.ci/services.sh), the long client timeouts of the
// tests on them that are not about speed (SlowTimeout), and a way to run a
// server process of a test's own that the test can stop and restart.
//
// A test that needs a real server calls one of the address functions. When
// the server does not answer, the test is skipped with a message, unless the
// environment says CI=true: then a missing server fails the test.
package testutil

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI (CI=true), where a missing server
// is a failure rather than a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// RedisAddr returns the address of the real single-node Redis
// (CACHING_REDIS_ADDR, default 127.0.0.1:6379).
func RedisAddr(t testing.TB) string {
	t.Helper()
	return need(t, "Redis", env("CACHING_REDIS_ADDR", "127.0.0.1:6379"))[0]
}

// RedisClusterAddrs returns the seed addresses of the real Redis Cluster
// (CACHING_REDIS_CLUSTER, default 127.0.0.1:7101,7102,7103).
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	return need(t, "Redis Cluster", env("CACHING_REDIS_CLUSTER", "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103"))
}

// RedisSentinel returns the address of the real Redis Sentinel and the name
// of the master it watches (CACHING_REDIS_SENTINEL, default 127.0.0.1:26390;
// CACHING_REDIS_SENTINEL_MASTER, default caching).
func RedisSentinel(t testing.TB) (addr, master string) {
	t.Helper()
	addr = need(t, "Redis Sentinel", env("CACHING_REDIS_SENTINEL", "127.0.0.1:26390"))[0]
	return addr, env("CACHING_REDIS_SENTINEL_MASTER", "caching")
}

// MemcachedAddrs returns the addresses of the real memcached servers
// (CACHING_MEMCACHED, default 127.0.0.1:11211,127.0.0.1:11212).
func MemcachedAddrs(t testing.TB) []string {
	t.Helper()
	return need(t, "memcached", env("CACHING_MEMCACHED", "127.0.0.1:11211,127.0.0.1:11212"))
}

// PostgresURL returns the URL of the real PostgreSQL database
// (CACHING_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test).
func PostgresURL(t testing.TB) string {
	t.Helper()
	raw := env("CACHING_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	host := "127.0.0.1:5432"
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		host = u.Host
		if u.Port() == "" {
			host += ":5432"
		}
	}
	need(t, "PostgreSQL", host)
	return raw
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// need dials every address in the comma-separated list and skips (or, in CI,
// fails) the test when one does not answer.
func need(t testing.TB, what, list string) []string {
	t.Helper()
	addrs := strings.Split(list, ",")
	for _, a := range addrs {
		conn, err := net.DialTimeout("tcp", a, 500*time.Millisecond)
		if err != nil {
			if InCI() {
				t.Fatalf("%s is not answering at %s (CI=true, so this is a failure; .ci/services.sh starts it): %v", what, a, err)
			}
			t.Skipf("%s is not answering at %s; skipping (run .ci/services.sh to start it): %v", what, a, err)
		}
		conn.Close()
	}
	return addrs
}
