package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedisClientLogBounded: go-redis writes a line to stderr, through
// its process-wide logger, for each dial that fails (outside the service's
// log and its bounds); main routes it to the service's log through a
// quiet failureLog: a Redis that refuses every dial gives one line, then
// at most one summary per interval, however many dials are tried.
func TestRedisClientLogBounded(t *testing.T) {
	logs := &errorLog{} // WARN and above
	redis.SetLogger(newRedisLog(slog.New(logs)))
	t.Cleanup(func() { redis.SetLogger(&logging.VoidLogger{}) })
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	start := time.Now()
	for range 5 {
		require.Error(t, rdb.Get(context.Background(), "k").Err())
	}
	lines := catalogLines(logs.take(), "catalog: redis client")
	assertBounded(t, lines, start, "5 calls to a Redis that refuses every dial")
	if len(lines) > 0 {
		assert.Contains(t, lines[0], "127.0.0.1:1", "the first line names the failure")
	}
}
