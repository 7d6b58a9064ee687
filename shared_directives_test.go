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

// gated is a SharedCache view (with opts) of a handler that counts its
// runs and holds each until release is closed, then answers with answer.
type gated struct {
	h       http.Handler
	release chan struct{}
	calls   atomic.Int32
}

func newGated(c *Cache, answer http.HandlerFunc, opts ...ViewOption) *gated {
	g := &gated{release: make(chan struct{})}
	g.h = c.Cached(time.Hour, append([]ViewOption{SharedCache()}, opts...)...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.calls.Add(1)
		<-g.release
		answer(w, r)
	}))
	return g
}

// burst, in a synctest bubble, sends first and waits until its run (if it
// leads one) is held, calls between, sends n times then while it is held,
// and releases the handler once they all wait.
func (g *gated) burst(first func(), between func(), n int, then func()) {
	var wg sync.WaitGroup
	wg.Go(first)
	synctest.Wait()
	between()
	for range n {
		wg.Go(then)
	}
	synctest.Wait()
	close(g.release)
	wg.Wait()
}

// maxAge60 answers "x" for 60 seconds.
func maxAge60(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write([]byte("x"))
}

// digits answers a Range-capable "0123456789" for 60 seconds.
func digits(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader("0123456789"))
}

// TestSharedNoStoreLeaderNoHerd: a request with no-store whose
// response the cache must not keep does not lead the flight of its key:
// the requests that arrive while its handler runs still share one run,
// rather than each running the handler once it is refused.
func TestSharedNoStoreLeaderNoHerd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		g := newGated(c, maxAge60, HonorRequestCacheControl())
		const n = 5
		g.burst(func() { get(g.h, "/a", "Cache-Control", "no-store") },
			func() { require.EqualValues(t, 1, g.calls.Load()) },
			n, func() { get(g.h, "/a") })
		assert.EqualValues(t, 2, g.calls.Load(), "the no-store request's run and one for the %d others", n)
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
		g := newGated(c, digits)
		const n = 5
		g.burst(func() {
			assert.Equal(t, http.StatusPartialContent, get(g.h, "/a", "Range", "bytes=0-1").Code)
		}, func() { require.EqualValues(t, 1, g.calls.Load()) },
			n, func() { get(g.h, "/a") })
		assert.EqualValues(t, 2, g.calls.Load(), "the Range request's run and one for the %d others", n)
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
		g := newGated(c, digits)
		const n = 5
		g.burst(func() { assert.Equal(t, "0123456789", get(g.h, "/a").Body.String()) }, func() {},
			n, func() {
				w := get(g.h, "/a", "Range", "bytes=2-4")
				assert.Equal(t, http.StatusPartialContent, w.Code)
				assert.Equal(t, "234", w.Body.String())
			})
		assert.EqualValues(t, 1, g.calls.Load(), "one run for the GET and the %d Range requests", n)
	})
}

// TestSharedAuthorizationNeverLeadsTheFlight: in SharedCache without
// UserKey, a request with Authorization led its key's flight; when its
// response was not shareable (no public, s-maxage or must-revalidate: the
// usual answer to a logged-in user), it was not stored, and every
// anonymous request that had waited for it then ran the handler itself,
// each after the whole run: one Authorization header at expiry made N
// clients wait twice. Such a request now joins a flight in progress and
// never starts one.
func TestSharedAuthorizationNeverLeadsTheFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		g := newGated(c, maxAge60)
		const n = 5
		g.burst(func() { get(g.h, "/a", "Authorization", "Bearer alice") },
			func() { require.EqualValues(t, 1, g.calls.Load()) },
			n, func() { get(g.h, "/a") })
		assert.EqualValues(t, 2, g.calls.Load(), "the Authorization request's run and one for the %d others", n)
		get(g.h, "/a")
		assert.EqualValues(t, 2, g.calls.Load(), "the others' response was stored")
	})
}

// TestSharedAuthorizationJoinsNoFlight: a request with Authorization does
// not wait for an anonymous run of its key in progress, even one whose
// response turns out shareable with it: that is known only once the
// response comes, and the usual answer (no public) would have made it wait
// the whole run, then run its own (view_waiters_unusable_test.go). It runs
// the handler itself, as without the cache.
func TestSharedAuthorizationJoinsNoFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		g := newGated(c, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			_, _ = w.Write([]byte("page"))
		})
		var body string
		g.burst(func() { get(g.h, "/a") }, func() {},
			1, func() { body = get(g.h, "/a", "Authorization", "Bearer alice").Body.String() })
		assert.EqualValues(t, 2, g.calls.Load(), "a run of its own")
		assert.Equal(t, "page", body)
		get(g.h, "/a", "Authorization", "Bearer bob")
		assert.EqualValues(t, 2, g.calls.Load(), "the stored public response answers it")
	})
}
