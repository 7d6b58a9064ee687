package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/internal/testutil"
)

// TestWatchRefusalIsLoggedOnce: a Redis user whose ACL refuses CLIENT
// TRACKING leaves the near cache unused, and nothing was logged: the
// operator had to find NearStats.WatchError. The refusal is now logged
// once with near.Options.Logger (at start, before the watch was ever
// established), not at each of the watch's attempts, and its end once.
// (Here, not in backend/near, so that the watch retries a refusal within
// 20ms, not 5s then 10s: watchRefusedWait.)
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
	refusedTracking := func() int64 { // the watch's refused attempts, one connection each
		entries, err := admin.ACLLog(ctx, 128).Result()
		require.NoError(t, err)
		var n int64
		for _, e := range entries {
			if e.Username == user && e.Object == "client|tracking" {
				n += e.Count
			}
		}
		return n
	}

	var logs testutil.LockedBuffer
	lines := func() []string { return strings.FieldsFunc(logs.String(), func(r rune) bool { return r == '\n' }) }
	rs, err := New(Options{URL: "redis://" + user + ":pw@" + addr + "/0", Prefix: prefix})
	require.NoError(t, err)
	rs.watchRefusedWait = 20 * time.Millisecond
	n := near.Must(rs, near.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(func() { _ = n.Close() })

	// Five refused attempts, more than the logger's burst of 3: one record.
	require.Eventually(t, func() bool { return refusedTracking() >= 5 && len(lines()) > 0 },
		10*time.Second, 10*time.Millisecond, "the watch tries again, and logs")
	got := lines()
	require.Len(t, got, 1, "one record for five refused attempts: %q", got)
	assert.Contains(t, got[0], "level=WARN")
	assert.Contains(t, got[0], "refuses the watch")
	assert.Contains(t, got[0], "NOPERM")
	assert.Contains(t, got[0], "refused=true")

	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", user, "+@all").Err())
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, n.WaitWatching(wctx))
	require.Eventually(t, func() bool { return len(lines()) == 2 }, 5*time.Second, 10*time.Millisecond,
		"the watch's return is logged")
	got = lines()
	assert.Contains(t, got[1], "level=INFO")
	assert.Contains(t, got[1], "the near cache is in use")
}
