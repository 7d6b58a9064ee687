package near_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/connerr"
	"github.com/go-caching/caching/internal/testutil"
)

// refusedTracking returns how many times Redis refused CLIENT TRACKING to
// user (the ACL log counts the refusals of one user and command in one
// entry): the watch's attempts, one connection each.
func refusedTracking(t *testing.T, admin *redis.Client, user string) int64 {
	t.Helper()
	entries, err := admin.ACLLog(context.Background(), 128).Result()
	require.NoError(t, err)
	var n int64
	for _, e := range entries {
		if e.Username == user && e.Object == "client|tracking" {
			n += e.Count
		}
	}
	return n
}

// TestWatchRefusedByACLIsReportedAndRedialsRarely: a Redis user that may
// read and write its keys but not run CLIENT TRACKING (an ordinary
// "+@read +@write" ACL; a managed Redis that renames CLIENT) cannot be
// watched, and the near cache is never used. That was silent (the
// handshake's error thrown away, only Watching false) and the watch
// redialled about once a second for ever. NearStats and WaitWatching now
// say why, the watch tries again only every few seconds, and it is
// established once the ACL allows it.
func TestWatchRefusedByACLIsReportedAndRedialsRarely(t *testing.T) {
	t.Parallel()
	addr := testutil.RedisAddr(t)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	id := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	user, prefix := "caching-test-watch-refused-"+id, "caching-test-watch-refused-"+id+":"
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", user, "reset", "on", ">pw", "~"+prefix+"*", "&*",
		"+@read", "+@write", "+@keyspace", "+ping").Err())
	t.Cleanup(func() { _ = admin.Do(context.Background(), "ACL", "DELUSER", user).Err() })

	rs, err := redisstore.New(redisstore.Options{URL: "redis://" + user + ":pw@" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
	require.NoError(t, err)
	n := near.Must(rs, near.Options{})
	c := caching.Must(&caching.Options{Backend: n, Timeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Set(ctx, "k", []byte("v"), time.Minute), "the Cache works")
	_, err = c.Get(ctx, "k")
	require.NoError(t, err, "the Cache works")

	require.Eventually(t, func() bool { return n.NearStats().WatchError != nil }, 5*time.Second, 10*time.Millisecond,
		"NearStats says why the near cache is not used")
	st := n.NearStats()
	assert.False(t, st.Watching)
	assert.ErrorContains(t, st.WatchError, "NOPERM")
	assert.ErrorIs(t, st.WatchError, near.ErrWatchRefused, "a refusal is told apart from an outage")
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	werr := n.WaitWatching(wctx)
	assert.ErrorIs(t, werr, context.DeadlineExceeded)
	assert.ErrorContains(t, werr, "NOPERM", "WaitWatching's error says why")

	before := refusedTracking(t, admin, user)
	time.Sleep(3 * time.Second) // what a watch redialling every second tries 3 times
	after := refusedTracking(t, admin, user)
	assert.GreaterOrEqual(t, before, int64(1))
	assert.LessOrEqual(t, after-before, int64(1), "new watch connections in 3s after a refusal")

	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", user, "+@all").Err())
	wctx, cancel = context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	require.NoError(t, n.WaitWatching(wctx), "the watch is established once the ACL allows it")
	assert.NoError(t, n.NearStats().WatchError, "no error while watching")
}

// TestCacheAnswersWhileTheWatchIsDown: a near cache whose Redis cannot be
// reached answers (the Cache fails open), while its watch is down: so a
// readiness probe must not wait for the watch, which would take every
// replica out of service at once during a Redis outage. NearStats and a
// bounded WaitWatching say why the near cache is not in use.
func TestCacheAnswersWhileTheWatchIsDown(t *testing.T) {
	t.Parallel()
	rs, err := redisstore.New(redisstore.Options{URL: "redis://127.0.0.1:1/0?dial_timeout=100ms", Prefix: "caching-test-watch-down:"})
	require.NoError(t, err)
	n := near.Must(rs, near.Options{})
	c := caching.Must(&caching.Options{Backend: n, Timeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, "ok", rec.Body.String(), "the service answers (fail open)")

	require.Eventually(t, func() bool { return n.NearStats().WatchError != nil }, 5*time.Second, 10*time.Millisecond)
	st := n.NearStats()
	assert.False(t, st.Watching)
	assert.True(t, connerr.Refused(st.WatchError), "%v: not a refused connection", st.WatchError)
	assert.NotErrorIs(t, st.WatchError, near.ErrWatchRefused, "an unreachable server is not a refusal")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = n.WaitWatching(ctx) // a bounded wait at start-up
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, connerr.Refused(err), "%v: WaitWatching's error does not say why", err)
}
