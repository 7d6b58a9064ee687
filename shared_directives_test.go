package caching

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedNoStoreLeaderNoHerd: a request with no-store whose
// response the cache must not keep does not lead the flight of its key:
// the requests that arrive while its handler runs still share one run,
// rather than each running the handler once it is refused.
func TestSharedNoStoreLeaderNoHerd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int32
		ch := c.Cached(time.Hour, SharedCache(), HonorRequestCacheControl())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			<-release
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write([]byte("x"))
		}))
		var wg sync.WaitGroup
		wg.Go(func() { get(ch, "/a", "Cache-Control", "no-store") })
		synctest.Wait()
		require.EqualValues(t, 1, calls.Load())
		const n = 5
		for range n {
			wg.Go(func() { get(ch, "/a") })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.EqualValues(t, 2, calls.Load(), "the no-store request's run and one for the %d others", n)
	})
}

// TestSharedHEADNoStoreDoesNotFreshen: a HEAD with no-store must not
// store any part of its response (RFC 9111 section 5.2.1.5): its header
// does not freshen the stored GET (section 4.3.5).
func TestSharedHEADNoStoreDoesNotFreshen(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"x"`)
		w.Header().Set("X-Seen", r.Method)
	}}
	ch := e.sharedView(h, HonorRequestCacheControl())
	get(ch, "/a")
	e.clock.Advance(20 * time.Second)
	send(ch, http.MethodHead, "/a", "Cache-Control", "no-store")
	w := get(ch, "/a")
	assert.NotEqual(t, "HIT", w.Header().Get("X-Cache"), "the no-store HEAD freshened the GET")
	assert.NotEqual(t, "HEAD", w.Header().Get("X-Seen"))
}

// TestSharedNoStoreKeepsRefresh: a client's no-store covers its own
// request and response, not the cache's background refresh
// (stale-while-revalidate) its stale hit starts: the refresh is stored, so
// that one such request does not keep the entry stale for every client.
func TestSharedNoStoreKeepsRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		h := &counter{body: "b", fn: cacheControl("max-age=10, stale-while-revalidate=30")}
		ch := c.Cached(time.Hour, SharedCache(), HonorRequestCacheControl(), CacheStatusHeader("X-Cache"), StaleWhileRevalidate(time.Minute))(h)
		get(ch, "/a")
		time.Sleep(15 * time.Second)
		w := get(ch, "/a", "Cache-Control", "no-store")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		synctest.Wait()
		require.EqualValues(t, 2, h.calls.Load(), "one background refresh")
		w = get(ch, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the refresh was stored")
		assert.Equal(t, "b #2", w.Body.String())
	})
}

// TestSharedRangeLeaderNoHerd: a Range request, whose 206 is never
// stored, does not lead the flight of its key either: the requests that
// arrive while its handler runs share one run.
func TestSharedRangeLeaderNoHerd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int32
		ch := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			<-release
			w.Header().Set("Cache-Control", "max-age=60")
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader("0123456789"))
		}))
		var wg sync.WaitGroup
		wg.Go(func() {
			assert.Equal(t, http.StatusPartialContent, get(ch, "/a", "Range", "bytes=0-1").Code)
		})
		synctest.Wait()
		require.EqualValues(t, 1, calls.Load())
		const n = 5
		for range n {
			wg.Go(func() { get(ch, "/a") })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.EqualValues(t, 2, calls.Load(), "the Range request's run and one for the %d others", n)
	})
}

// TestSharedRangeJoinsARun: a Range request that arrives while a plain GET
// of its key runs waits for that run and is answered from its response (a
// 206 of the stored 200): Range requests never lead a run, but still join
// one, so that a burst of them on a cold key costs one origin run when
// any plain GET leads.
func TestSharedRangeJoinsARun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int32
		ch := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			<-release
			w.Header().Set("Cache-Control", "max-age=60")
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader("0123456789"))
		}))
		var wg sync.WaitGroup
		wg.Go(func() { assert.Equal(t, "0123456789", get(ch, "/a").Body.String()) })
		synctest.Wait()
		const n = 5
		for range n {
			wg.Go(func() {
				w := get(ch, "/a", "Range", "bytes=2-4")
				assert.Equal(t, http.StatusPartialContent, w.Code)
				assert.Equal(t, "234", w.Body.String())
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.EqualValues(t, 1, calls.Load(), "one run for the GET and the %d Range requests", n)
	})
}
