package caching

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// connection is one process's connection to a shared store: its Close
// ends this connection only (its later calls fail, as a closed Redis
// client's do), not the store.
type connection struct{ *remote }

func (c *connection) Close() error {
	c.fail.Store(true)
	return nil
}

// refreshOnClose is a handler whose runs, once slow is set, tell
// refreshing and wait for their context to end (a slow run that honours
// its context), or for release when honour is false.
type refreshOnClose struct {
	counter
	slow       atomic.Bool
	honour     bool
	refreshing chan struct{}
	release    chan struct{}
}

func newRefreshOnClose(honour bool) *refreshOnClose {
	h := &refreshOnClose{honour: honour, refreshing: make(chan struct{}, 1), release: make(chan struct{})}
	h.body = "page"
	h.fn = func(w http.ResponseWriter, r *http.Request) {
		if !h.slow.Load() {
			return
		}
		h.refreshing <- struct{}{}
		if h.honour {
			<-r.Context().Done()
		} else {
			<-h.release
		}
	}
	return h
}

// staleRefreshing has v store "/p", then serves it stale, which starts a
// background refresh that is still running (slow) when it returns.
func staleRefreshing(t *testing.T, v http.Handler, h *refreshOnClose, advance func(time.Duration)) {
	t.Helper()
	require.Equal(t, http.StatusOK, get(v, "/p").Code)
	advance(1100 * time.Millisecond) // stale, within stale-while-revalidate
	h.slow.Store(true)
	require.Equal(t, http.StatusOK, get(v, "/p").Code)
	<-h.refreshing // the refresh runs, holding the lease
	h.slow.Store(false)
}

// A process that shuts down cleanly (Cache.Close) while a background
// refresh (StaleWhileRevalidate) holds the entry's lease used to close its
// backend connection at once, so that the refresh's release of the lease
// failed and the lease stayed for its whole time: another process's miss
// of the entry then waited the whole lease, as for a crashed holder, though
// nobody computed the entry. Close now waits for the refresh, which honours
// its context, to return and release the lease.
func TestCloseDuringRefreshLeavesTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := newSimple(t, nil)
		open := func(b backend.Backend) *Cache {
			c, err := New(&Options{Backend: b, Lease: 20 * time.Second})
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			return c
		}
		a, b := open(&connection{&remote{Backend: shared}}), open(&remote{Backend: shared})
		h := newRefreshOnClose(true)
		opts := []ViewOption{StaleWhileRevalidate(time.Second)}
		va, vb := a.Cached(time.Second, opts...)(h), b.Cached(time.Second, opts...)(h)
		staleRefreshing(t, va, h, time.Sleep)
		require.NoError(t, a.Close())
		time.Sleep(1100 * time.Millisecond) // past stale-while-revalidate: a miss

		start := time.Now()
		w := get(vb, "/p")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "page #3", w.Body.String(), "b ran the handler")
		assert.Equal(t, int64(0), b.Stats().LeaseWaits, "b waited for the lease of a refresh that Close ended")
		assert.Zero(t, time.Since(start), "b's miss waited") // synctest's clock: no wait at all
	})
}

// Close's wait for the background work is bounded: a refresh that does not
// honour its context holds Close up for twice Options.Timeout at most.
func TestCloseWaitsForARefreshAtMostTwiceTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{Backend: &remote{Backend: newSimple(t, nil)}, Lease: 20 * time.Second, Timeout: 300 * time.Millisecond})
		require.NoError(t, err)
		h := newRefreshOnClose(false)
		v := c.Cached(time.Second, StaleWhileRevalidate(time.Second))(h)
		staleRefreshing(t, v, h, time.Sleep)
		start := time.Now()
		require.NoError(t, c.Close())
		assert.Equal(t, 600*time.Millisecond, time.Since(start), "Close waits for the refresh twice Timeout, no longer") // synctest's clock
		close(h.release)
		c.background.wait()
	})
}

// The same on Redis: the refresh's lease is released before Close closes
// the client.
func TestCloseDuringRefreshReleasesTheLeaseOnRedis(t *testing.T) {
	addr := testutil.RedisAddr(t)
	prefix := "close-refresh-lease:" + time.Now().Format("150405.000000") + ":"
	clock := testutil.NewClock()
	open := func() *Cache {
		b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/9", Prefix: prefix})
		require.NoError(t, err)
		c, err := New(&Options{Backend: b, Lease: 20 * time.Second, Clock: clock.Now})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := open(), open()
	t.Cleanup(func() { _ = b.Clear(context.Background()) })
	h := newRefreshOnClose(true)
	opts := []ViewOption{StaleWhileRevalidate(time.Second)}
	va, vb := a.Cached(time.Second, opts...)(h), b.Cached(time.Second, opts...)(h)
	staleRefreshing(t, va, h, clock.Advance)
	require.NoError(t, a.Close())
	clock.Advance(1100 * time.Millisecond) // past stale-while-revalidate: a miss

	w := get(vb, "/p")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "page #3", w.Body.String(), "b ran the handler")
	assert.Equal(t, int64(0), b.Stats().LeaseWaits, "b waited for the lease of a refresh that Close ended")
}
