package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// newDroppedStore returns a Store on the real Redis (database 9) behind a
// testutil.Proxy, whose DropReply(n) forwards n-1 more replies and drops
// the connection in place of the n-th: the command reached the server,
// its reply was lost on the way, as with a connection reset or a reply
// later than ReadTimeout (go-redis retries after both).
func newDroppedStore(t *testing.T, prefix string) (*redisstore.Store, *testutil.Proxy, *redis.Client) {
	addr := testutil.RedisAddr(t)
	p := testutil.StartProxy(t, addr, testutil.ProxyOptions{})
	b, raw := storeBehind(t, p.Addr(), addr, prefix)
	return b, p, raw
}

// storeBehind returns a Store (its own client: one retry, no back-off) on
// the real Redis at addr, database 9, reached through the proxy listening
// at proxy, and a client straight to Redis; both are closed, and the Store
// cleared, at the test's end.
func storeBehind(t *testing.T, proxy, addr, prefix string) (*redisstore.Store, *redis.Client) {
	b, err := redisstore.New(redisstore.Options{
		URL:    "redis://" + proxy + "/9",
		Prefix: prefix + time.Now().Format("150405.000000"),
	})
	require.NoError(t, err)
	raw := redis.NewClient(&redis.Options{Addr: addr, DB: 9, ContextTimeoutEnabled: true})
	t.Cleanup(func() {
		_ = b.Clear(context.Background())
		_ = b.Close()
		_ = raw.Close()
	})
	return b, raw
}

// TestIncrNotRetriedAfterLostReply: INCRBY is not idempotent. The Store's
// clients retry a command whose reply is lost or late, after the server
// applied it: two Incr(1) left the counter at 3 (a rate limit counting a
// request twice). Incr is not retried: the lost reply is an error, and the
// counter counts each call once.
func TestIncrNotRetriedAfterLostReply(t *testing.T) {
	b, p, raw := newDroppedStore(t, "noretry-incr:")
	ctx := context.Background()
	_, err := b.Incr(ctx, "n", 1) // warms the pool: the handshake is done
	require.NoError(t, err)
	p.DropReply(1)
	n, err := b.Incr(ctx, "n", 1)
	require.Error(t, err, "the reply was lost, yet Incr returned %d", n)
	got, err := raw.Get(ctx, b.Prefix()+"n").Int()
	require.NoError(t, err)
	require.Equal(t, 2, got, "two Incr(1) calls left the counter at %d", got)
	n, err = b.Incr(ctx, "n", 1) // the Store works on after the error
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
}

// TestAddNotRetriedAfterLostReply: SET NX is not idempotent. Retried after
// its reply was lost, it found its own value and Add reported (false, nil):
// a lease taker then waited out its own lease, and every process with it.
// Add is not retried: the lost reply is an error, never "not added" for a
// value this call stored.
func TestAddNotRetriedAfterLostReply(t *testing.T) {
	b, p, _ := newDroppedStore(t, "noretry-add:")
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "warm", []byte("x"), time.Minute))
	p.DropReply(1)
	added, err := b.Add(ctx, "lease", []byte("h"), time.Minute)
	v, _ := b.Get(ctx, "lease")
	require.Error(t, err, "the reply was lost, yet Add returned added=%v (the key holds %q)", added, v)
	require.Equal(t, "h", string(v), "SET NX reached the server")
}

// TestAddOverForeignNotRetriedAfterLostReply: the same for the script that
// replaces a key of another Redis type.
func TestAddOverForeignNotRetriedAfterLostReply(t *testing.T) {
	b, p, raw := newDroppedStore(t, "noretry-addforeign:")
	ctx := context.Background()
	require.NoError(t, raw.RPush(ctx, b.Prefix()+"lease", "a").Err())
	// Warm the script cache and the pool on another foreign key.
	require.NoError(t, raw.RPush(ctx, b.Prefix()+"other", "a").Err())
	added, err := b.Add(ctx, "other", []byte("x"), time.Minute)
	require.NoError(t, err)
	require.True(t, added)
	// SET NX answers nil (the key exists), TYPE says list, and the
	// script's reply is the one lost: the third reply from now.
	p.DropReply(3)
	added, err = b.Add(ctx, "lease", []byte("h"), time.Minute)
	v, _ := b.Get(ctx, "lease")
	require.Error(t, err, "the script's reply was lost, yet Add returned added=%v (the key holds %q)", added, v)
	require.Equal(t, "h", string(v), "the script reached the server")
}
