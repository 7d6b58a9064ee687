package near_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// lateNews is a Redis store whose watch reports changed keys late, as a
// message still on its way does (a loaded host; on a Cluster, the entry's
// node other than the lease's).
type lateNews struct {
	*redisstore.Store
	delay time.Duration
}

func (r *lateNews) WatchInvalidations(changed func([]string), state func(bool)) (io.Closer, error) {
	return r.Store.WatchInvalidations(func(keys []string) {
		time.Sleep(r.delay)
		changed(keys)
	}, state)
}

// openProcess opens one simulated process on the real Redis: its own
// client, store (news delayed by delay when not zero), near cache and
// Cache, under prefix.
func openProcess(t *testing.T, addr, prefix string, delay time.Duration) *caching.Cache {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	remote, err := redisstore.New(redisstore.Options{Client: client, Prefix: prefix})
	require.NoError(t, err)
	var watched backend.Backend = remote
	if delay > 0 {
		watched = &lateNews{remote, delay}
	}
	ns, err := near.New(watched, near.Options{})
	require.NoError(t, err)
	c, err := caching.New(&caching.Options{Backend: ns})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, ns.WaitWatching(ctx))
	t.Cleanup(func() {
		_ = c.Clear(context.Background())
		_ = c.Close()
		_ = client.Close()
	})
	return c
}

// TestLeaseWaiterReadsPastItsNearCopy: process B keeps in memory an
// entry its StaleIf refuses; A and B miss it at once, A takes the lease
// and runs the function, B waits. When A's lease is gone, B looks the
// entry up again: the news of A's write has not reached B yet (it comes
// 300 ms late), so B's memory still holds the refused copy. B must read
// the remote store and serve A's result, not take the lease and run the
// function a second time.
func TestLeaseWaiterReadsPastItsNearCopy(t *testing.T) {
	addr := testutil.RedisAddr(t)
	prefix := fmt.Sprintf("near-lease-news-%d", time.Now().UnixNano())
	a := openProcess(t, addr, prefix, 0)
	b := openProcess(t, addr, prefix, 300*time.Millisecond)
	var runs atomic.Int64
	fn := func(context.Context, string) (string, error) {
		if runs.Add(1) == 1 {
			return "old", nil
		}
		time.Sleep(100 * time.Millisecond)
		return "new", nil
	}
	opts := []caching.MemoOption{caching.Lease(3 * time.Second), caching.TTL(time.Minute),
		caching.StaleIf(func(r string) bool { return r == "old" })}
	ma := caching.Memoize(a, "f", fn, opts...)
	mb := caching.Memoize(b, "f", fn, opts...)
	ctx := context.Background()
	got, err := ma.Get(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, "old", got)
	_, fresh, err := mb.Peek(ctx, "x") // B keeps "old" in memory
	require.NoError(t, err)
	require.False(t, fresh)

	var wg sync.WaitGroup
	var fromA string
	wg.Go(func() { fromA, _ = ma.Get(ctx, "x") })
	time.Sleep(20 * time.Millisecond) // A holds the lease
	fromB, err := mb.Get(ctx, "x")
	require.NoError(t, err)
	wg.Wait()
	require.Equal(t, "new", fromA)
	require.Equal(t, "new", fromB)
	require.Equal(t, int64(2), runs.Load(), "runs: the first, A's; B must not run again")
}
