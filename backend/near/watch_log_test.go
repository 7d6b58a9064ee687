package near_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// syncBuffer is a bytes.Buffer the watch's goroutines may log into while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// lines returns the records logged so far.
func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.FieldsFunc(b.b.String(), func(r rune) bool { return r == '\n' })
}

// TestWatchUnreachableIsLoggedOnce: a Redis that cannot be reached is
// tried again quickly (10ms, doubling up to 1s): its failure is logged
// once, not at every attempt, and not as a refusal. The client's Dialer
// counts the watch's attempts, so that the test waits for several of
// them, not for a time.
func TestWatchUnreachableIsLoggedOnce(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	var dials atomic.Int32
	c := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, DialTimeout: 100 * time.Millisecond,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	})
	t.Cleanup(func() { _ = c.Close() })
	rs, err := redisstore.New(redisstore.Options{Client: c, Prefix: "caching-test-watch-log-down:"})
	require.NoError(t, err)
	n := near.Must(rs, near.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(func() { _ = n.Close() })
	require.Eventually(t, func() bool { return len(logs.lines()) > 0 }, 5*time.Second, time.Millisecond)
	first := dials.Load()
	// Five more attempts (10ms, 20ms, 40ms, ... apart): more than the
	// logger's burst of 3, were each one logged.
	require.Eventually(t, func() bool { return dials.Load() >= first+5 }, 5*time.Second, time.Millisecond,
		"the watch tries again")
	lines := logs.lines()
	require.Len(t, lines, 1, "one record for many failed attempts: %q", lines)
	assert.Contains(t, lines[0], "level=WARN")
	assert.Contains(t, lines[0], "connection refused")
	assert.Contains(t, lines[0], "refused=false")
}
