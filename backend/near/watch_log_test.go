package near_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
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

// TestWatchRefusalIsLoggedOnce: a Redis user whose ACL refuses CLIENT
// TRACKING leaves the near cache unused, and nothing was logged: the
// operator had to find NearStats.WatchError. The refusal is now logged
// once with Options.Logger (at start, before the watch was ever
// established), not at each of the watch's attempts, and its end once.
func TestWatchRefusalIsLoggedOnce(t *testing.T) {
	t.Parallel()
	addr := testutil.RedisAddr(t)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	id := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	user, prefix := "caching-test-watch-log-"+id, "caching-test-watch-log-"+id+":"
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", user, "reset", "on", ">pw", "~"+prefix+"*", "&*",
		"+@read", "+@write", "+@keyspace", "+ping").Err())
	t.Cleanup(func() { _ = admin.Do(context.Background(), "ACL", "DELUSER", user).Err() })

	var logs syncBuffer
	rs, err := redisstore.New(redisstore.Options{URL: "redis://" + user + ":pw@" + addr + "/0", Prefix: prefix})
	require.NoError(t, err)
	n := near.Must(rs, near.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(func() { _ = n.Close() })

	// Two refused attempts (the second 5s after the first), one record.
	require.Eventually(t, func() bool { return refusedTracking(t, admin, user) >= 2 && len(logs.lines()) > 0 },
		15*time.Second, 50*time.Millisecond, "the watch tries again, and logs")
	lines := logs.lines()
	require.Len(t, lines, 1, "one record for two refused attempts: %q", lines)
	assert.Contains(t, lines[0], "level=WARN")
	assert.Contains(t, lines[0], "refuses the watch")
	assert.Contains(t, lines[0], "NOPERM")
	assert.Contains(t, lines[0], "refused=true")

	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", user, "+@all").Err())
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, n.WaitWatching(wctx))
	require.Eventually(t, func() bool { return len(logs.lines()) == 2 }, 5*time.Second, 10*time.Millisecond,
		"the watch's return is logged")
	lines = logs.lines()
	assert.Contains(t, lines[1], "level=INFO")
	assert.Contains(t, lines[1], "the near cache is in use")
}

// TestWatchUnreachableIsLoggedOnce: a Redis that cannot be reached is
// tried again quickly (10ms, doubling up to 1s): its failure is logged
// once, not at every attempt, and not as a refusal.
func TestWatchUnreachableIsLoggedOnce(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	rs, err := redisstore.New(redisstore.Options{URL: "redis://127.0.0.1:1/0?dial_timeout=100ms", Prefix: "caching-test-watch-log-down:"})
	require.NoError(t, err)
	n := near.Must(rs, near.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(func() { _ = n.Close() })
	require.Eventually(t, func() bool { return len(logs.lines()) > 0 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(time.Second) // several more attempts: 10ms, 20ms, 40ms, ...
	lines := logs.lines()
	require.Len(t, lines, 1, "one record for many failed attempts: %q", lines)
	assert.Contains(t, lines[0], "level=WARN")
	assert.Contains(t, lines[0], "connection refused")
	assert.Contains(t, lines[0], "refused=false")
}
