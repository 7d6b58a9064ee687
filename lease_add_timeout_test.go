package caching

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// lateLeaseAdd is two processes on the real Redis, in a namespace of
// their own (cleared at the end): open(true) opens a Cache whose Redis is
// behind a proxy that, once armed, holds the first lease Add (SET ... NX)
// until release is closed, past the Cache's Timeout (Redis makes the Add
// when it is forwarded, the Cache saw a timeout); open(false) one that
// reaches Redis directly, with testutil.SlowTimeout. Both have a lease of
// a minute.
type lateLeaseAdd struct {
	armed   atomic.Bool
	release chan struct{}
	open    func(proxied bool) *Cache
	// leaseMade reports whether Redis holds a lease of the namespace.
	leaseMade func() bool
}

func newLateLeaseAdd(t *testing.T, opts Options) *lateLeaseAdd {
	addr := testutil.RedisAddr(t)
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	direct := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = direct.Close() })
	l := &lateLeaseAdd{release: make(chan struct{})}
	var held atomic.Bool
	proxy := testutil.StartProxy(t, addr, testutil.ProxyOptions{Request: func(chunk []byte) []byte {
		if l.armed.Load() && bytes.Contains(chunk, []byte(prefix+kindLease)) &&
			bytes.Contains(bytes.ToLower(chunk), []byte("nx")) && held.CompareAndSwap(false, true) {
			<-l.release
		}
		return nil
	}})
	l.open = func(proxied bool) *Cache {
		at := addr
		if proxied {
			at = proxy.Addr()
		}
		b, err := redisstore.New(redisstore.Options{URL: "redis://" + at + "/0", Prefix: prefix})
		require.NoError(t, err)
		o := opts
		o.Backend, o.Lease, o.Timeout = b, time.Minute, 200*time.Millisecond
		if !proxied {
			// Only the proxied Add is to time out: the direct process's
			// calls get the slow-server Timeout, so that one of them
			// timing out on a loaded machine does not look like its
			// finding no lease.
			o.Timeout = testutil.SlowTimeout
		}
		c, err := New(&o)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		return c
	}
	l.leaseMade = func() bool {
		keys, err := direct.Keys(context.Background(), prefix+kindLease+"*").Result()
		return err == nil && len(keys) == 1
	}
	return l
}

// Regression: a lease Add that Redis made but whose reply came after the
// Cache's Timeout (a slow moment of the server or the network) failed for
// the process that sent it, which ran the work without the lease, as a
// backend error makes it, stored the result, and never deleted the lease
// it held all the same. The other processes that waited for that lease
// then waited for the whole lease (here a minute, past their own
// deadline), though the result was stored at once: only a lease found gone
// makes a waiter look for the entry. A run whose Add timed out now deletes
// the lease once it stored its result, so that the waiters find it.
func TestLeaseAddTimedOutStillReleasedAfterTheRun(t *testing.T) {
	ctx := context.Background()
	l := newLateLeaseAdd(t, Options{})
	l.armed.Store(true)
	a, b := l.open(true), l.open(false)

	var runs atomic.Int64
	running, finish := make(chan struct{}), make(chan struct{})
	fn := func(_ context.Context, n int) (string, error) {
		if runs.Add(1) == 1 {
			close(running)
			<-finish
		}
		return fmt.Sprint("result ", n), nil
	}
	ma, mb := Memoize(a, "slow", fn), Memoize(b, "slow", fn)

	// A's Add, held, times out: A runs fn without the lease; then the Add
	// reaches Redis, which makes the lease.
	aDone := make(chan error, 1)
	go func() {
		_, err := ma.Get(ctx, 1)
		aDone <- err
	}()
	<-running
	close(l.release)
	require.Eventually(t, l.leaseMade, 10*time.Second, time.Millisecond, "the held Add never reached Redis")

	// B misses, finds the lease (A's, made at Redis) and waits for it.
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	bDone := make(chan struct{})
	var (
		bGot string
		bErr error
	)
	go func() {
		defer close(bDone)
		bGot, bErr = mb.Get(bctx, 1)
	}()
	require.Eventually(t, func() bool { return b.Stats().LeaseWaits == 1 }, 10*time.Second, time.Millisecond,
		"B found no lease held")

	close(finish) // A's run ends, and stores its result
	require.NoError(t, <-aDone)
	<-bDone
	require.NoError(t, bErr, "B waited for a lease A no longer needed, past its own deadline")
	assert.Equal(t, "result 1", bGot)
	assert.Equal(t, int64(1), runs.Load(), "B ran fn itself")
}

// The same for a view's background refresh (StaleWhileRevalidate): its
// lease Add, made at Redis but answered after the Timeout, left the lease
// held after the refresh stored, for the whole lease. A miss of that key in
// another process (after an invalidation) then waited for it, past its
// request's deadline, and was answered by its handler without being stored
// (a bypass). The refresh now releases the lease its Add may have made.
func TestLeaseRefreshAddTimedOutStillReleased(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock()
	l := newLateLeaseAdd(t, Options{Clock: clock.Now})
	a, b := l.open(true), l.open(false)
	refreshing, finish := make(chan struct{}), make(chan struct{})
	h := &counter{body: "page"}
	h.fn = func(http.ResponseWriter, *http.Request) {
		if h.calls.Load() == 2 { // A's refresh
			close(refreshing)
			<-finish
		}
	}
	va := a.Cached(time.Second, StaleWhileRevalidate(time.Hour))(h)
	vb := b.Cached(time.Second, StaleWhileRevalidate(time.Hour))(h)

	require.Equal(t, "page #1", get(va, "/p").Body.String())
	clock.Advance(2 * time.Second)
	l.armed.Store(true)
	require.Equal(t, "page #1", get(va, "/p").Body.String(), "served stale, refreshed in the background")
	<-refreshing // its Add timed out; it runs without the lease
	close(l.release)
	require.Eventually(t, l.leaseMade, 10*time.Second, time.Millisecond, "the held Add never reached Redis")
	close(finish)
	require.Eventually(t, func() bool { return get(vb, "/p").Body.String() == "page #2" }, 10*time.Second, time.Millisecond,
		"A's refresh never stored")

	// What B observes: a miss after an invalidation runs under a lease of
	// its own and stores, rather than wait for one nobody holds.
	// Its requests have a deadline, as a timeout middleware gives them.
	getB := func() string {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		w := httptest.NewRecorder()
		vb.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/p", nil).WithContext(rctx))
		return w.Body.String()
	}
	require.NoError(t, b.InvalidatePath(ctx, "/p"))
	assert.Equal(t, "page #3", getB())
	assert.Equal(t, int64(0), b.Stats().Bypasses, "B waited for the lease past its deadline")
	assert.Equal(t, "page #3", getB(), "B's run was not stored")
}
