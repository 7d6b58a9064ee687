package testutil

import (
	"strconv"
	"testing"
	"time"
)

// SlowTimeout is the client timeout of a test against a real server whose
// subject is not how fast the server answers: CI runs the whole suite under
// -race on a loaded 2-core machine, where a call that takes 1 ms on a laptop
// can stall for a second, so the library's defaults (500 ms for a Redis
// Store's dials, reads, writes and pool waits, 250 ms for a memcached call, a
// Cache's 500 ms Timeout) fail tests that are about what is stored. A test
// about a hung server, a timeout, a deadline or a breaker keeps its own.
//
// Use it as a memcached Store's Options.Timeout, a Cache's Options.Timeout,
// or a go-redis client's ReadTimeout and WriteTimeout; a Redis Store built
// from a URL takes it from SlowRedisQuery (or SlowRedisURL).
const SlowTimeout = 10 * time.Second

// SlowRedisQuery is the query of a Redis URL that gives the Store's client
// SlowTimeout for its dials, reads, writes and waits for a pooled connection:
// "redis://" + addr + "?" + SlowRedisQuery.
const SlowRedisQuery = "dial_timeout=10s&read_timeout=10s&write_timeout=10s&pool_timeout=10s"

// SlowRedisURL returns the URL of database db on the real single-node Redis
// (RedisAddr, which skips or fails the test when it is missing) with
// SlowRedisQuery: "redis://127.0.0.1:6379/0?dial_timeout=10s&...".
func SlowRedisURL(t testing.TB, db int) string {
	t.Helper()
	return "redis://" + RedisAddr(t) + "/" + strconv.Itoa(db) + "?" + SlowRedisQuery
}
