package near_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestNearCacheUnderLeastPrivilegeUser: a Redis user without the
// @dangerous commands (ROLE among them) may still HELLO, track, GET and
// SET. The watch's heartbeat falls back to PING for it, instead of ending
// each session at its first heartbeat: the near cache stays in use, and
// is not emptied again and again.
func TestNearCacheUnderLeastPrivilegeUser(t *testing.T) {
	t.Parallel()
	addr := testutil.RedisAddr(t)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	// A name of this run's own: two runs on one Redis (two processes, or
	// -count 2 next to another) must not delete, or reset, each other's
	// user, which ends that user's connections.
	run := fmt.Sprint(os.Getpid(), "-", time.Now().UnixNano())
	user := "caching-test-nodangerous-" + run
	prefix := "caching-test-acl-" + run + ":"
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", user, "reset", "on", ">pw", "~*", "&*", "+@all", "-@dangerous").Err())
	t.Cleanup(func() { _ = admin.Do(context.Background(), "ACL", "DELUSER", user).Err() })
	limited := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: "pw", ContextTimeoutEnabled: true})
	defer limited.Close()
	require.NoError(t, limited.Set(ctx, prefix+"k", "v", time.Minute).Err(), "the user may SET")
	require.Error(t, limited.Do(ctx, "ROLE").Err(), "the user may not run ROLE")

	rs, err := redisstore.New(redisstore.Options{URL: "redis://" + user + ":pw@" + addr + "?" + testutil.SlowRedisQuery, Prefix: prefix})
	require.NoError(t, err)
	n := near.Must(rs, near.Options{})
	defer n.Close()
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	require.NoError(t, n.WaitWatching(wctx), "the watch is established")

	time.Sleep(3 * time.Second) // a dozen heartbeats
	st := n.NearStats()
	assert.True(t, st.Watching, "the near cache is in use")
	assert.LessOrEqual(t, st.Emptied, int64(2), "times the near cache was emptied (once when the watch was established)")
}
