package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/connerr"
	"github.com/go-caching/caching/internal/testutil"
)

// TestRetryRefusedAfterLandedWriteIsNoRefusal: a SET or UNLINK (or a
// SetMany's pipeline of SETs) that reached the server, whose reply was lost with its connection (the
// server going down), was retried on a new connection, which the server
// refused (restarting). The call's error was that refusal, which says the
// command surely did not reach the server: a Cache kept the lease it was
// releasing as its own, and took it over later, while the release had
// landed and another process could hold the key's lease since. The error
// is now the lost reply's, which the command may have run after; the
// refusal is in its text only. A call refused from the start is still a
// refusal.
func TestRetryRefusedAfterLandedWriteIsNoRefusal(t *testing.T) {
	addr := testutil.RedisAddr(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		before string // the key's value before the call; "": none
		call   func(b *redisstore.Store) error
		after  string // what the call leaves under the key; "": none
	}{
		"set":    {"h", func(b *redisstore.Store) error { return b.Set(ctx, "lease", []byte("x"), time.Minute) }, "x"},
		"delete": {"h", func(b *redisstore.Store) error { return b.Delete(ctx, "lease") }, ""},
		"setmany": {"h", func(b *redisstore.Store) error {
			return b.SetMany(ctx, []backend.Item{{Key: "lease", Value: []byte("x"), TTL: time.Minute}, {Key: "other", Value: []byte("y")}})
		}, "x"},
	} {
		t.Run(name, func(t *testing.T) {
			p := testutil.StartRestartingProxy(t, addr, []byte("lease"))
			b, raw := storeBehind(t, p.Addr(), addr, "retry-refused-"+name+":")
			require.NoError(t, raw.Set(ctx, b.Prefix()+"lease", tc.before, time.Minute).Err())
			require.NoError(t, b.Set(ctx, "warm", []byte("x"), time.Minute)) // a pooled connection
			p.Arm()
			err := tc.call(b)
			require.Error(t, err)
			assert.False(t, p.Armed(), "the call reached the proxy")
			v, gerr := raw.Get(ctx, b.Prefix()+"lease").Result()
			if tc.after == "" {
				assert.ErrorIs(t, gerr, redis.Nil, "the call landed")
			} else {
				assert.Equal(t, tc.after, v, "the call landed")
			}
			assert.False(t, connerr.Refused(err), "a refusal after a try that landed: %v", err)
			assert.Contains(t, err.Error(), "refused", "the retry's refusal is told")
		})
	}
	t.Run("refused from the start", func(t *testing.T) {
		b := redisstore.Must(redisstore.Options{URL: "redis://" + testutil.RefusedAddr(t)})
		t.Cleanup(func() { _ = b.Close() })
		assert.True(t, connerr.Refused(b.Set(ctx, "lease", []byte("x"), time.Minute)), "set")
		assert.True(t, connerr.Refused(b.Delete(ctx, "lease")), "delete")
	})
}
