package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// versionsDown is a remote store on which a lookup works (it misses) but
// creating a key fails: the view cannot create the path's version key, so
// that a run's read of its tag versions fails (verr), as when the backend
// goes down or slow between the lookup and that read.
type versionsDown struct{ *remote }

func (versionsDown) Add(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, errDown
}

// extModes are the option sets of a view that takes serveExt's path.
var extModes = map[string][]ViewOption{
	"shared":       {SharedCache()},
	"shared+honor": {SharedCache(), HonorRequestCacheControl()},
	"honor":        {HonorRequestCacheControl()},
}

// versionsDownView returns a view of h with opts on a Cache whose backend
// fails to give the tag versions.
func versionsDownView(t *testing.T, h http.Handler, opts ...ViewOption) http.Handler {
	c := Must(&Options{Backend: versionsDown{&remote{Backend: newSimple(t, nil)}}})
	t.Cleanup(func() { c.Close() })
	return c.Cached(time.Minute, append(opts, CacheStatusHeader("X-Cache"))...)(h)
}

// concurrentGets sends n identical GETs of target to view while h's
// handler waits for release, then releases it, and returns the responses.
func concurrentGets(view http.Handler, release chan struct{}, n int, target string, hdr ...string) []*httptest.ResponseRecorder {
	ws := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ws[i] = get(view, target, hdr...) })
	}
	synctest.Wait()
	close(release)
	wg.Wait()
	return ws
}

// TestSharedCacheVersionsDownWaitersShareRun: in a view with SharedCache
// or HonorRequestCacheControl, a run whose read of the tag versions failed
// (the lookup missed, then the backend failed) stores nothing, but the
// identical requests that waited for it still get its response, as the
// Cached doc promises ("identical GET requests in flight still share one
// run"). They each ran the handler after the whole run: the failed read
// was treated as the request's own no-store, which refuses the response
// for everyone.
func TestSharedCacheVersionsDownWaitersShareRun(t *testing.T) {
	for mode, opts := range extModes {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				h := &counter{body: "report", fn: func(w http.ResponseWriter, _ *http.Request) {
					<-release
					w.Header().Set("Cache-Control", "max-age=60")
				}}
				view := versionsDownView(t, h, opts...)
				const n = 5
				ws := concurrentGets(view, release, n, "/report")
				assert.Equal(t, int64(1), h.calls.Load(), "one handler run for identical requests")
				for _, w := range ws {
					assert.Equal(t, "report #1", w.Body.String())
					assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"), "not stored: the leader's and its waiters' alike")
				}
				w := get(view, "/report")
				assert.Equal(t, "report #2", w.Body.String(), "nothing was stored")
			})
		})
	}
}

// TestSharedCacheVersionsDownRefusedNotHanded: with the tag versions
// unread, a response the view refuses to store for what it is (private,
// Set-Cookie, Vary: *) still answers its own request only: each waiter
// runs the handler, as with the backend up.
func TestSharedCacheVersionsDownRefusedNotHanded(t *testing.T) {
	for mode, opts := range extModes {
		for name, set := range map[string][2]string{
			"private":    {"Cache-Control", "private, max-age=60"},
			"set-cookie": {"Set-Cookie", "session=one-client"},
			"vary-star":  {"Vary", "*"},
		} {
			t.Run(mode+"/"+name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					release := make(chan struct{})
					h := &counter{body: "account", fn: func(w http.ResponseWriter, _ *http.Request) {
						<-release
						w.Header().Set("Cache-Control", "max-age=60")
						w.Header().Add(set[0], set[1])
					}}
					view := versionsDownView(t, h, opts...)
					const n = 3
					ws := concurrentGets(view, release, n, "/account")
					seen := map[string]bool{}
					for _, w := range ws {
						b := w.Body.String()
						assert.False(t, seen[b], "%q was served to two clients", b)
						seen[b] = true
					}
					assert.Equal(t, int64(n), h.calls.Load(), "each request ran the handler")
				})
			})
		}
	}
}

// downView returns a view of h with opts on a Cache whose backend is down.
func downView(t *testing.T, h http.Handler, opts ...ViewOption) http.Handler {
	r := &remote{Backend: newSimple(t, nil)}
	r.fail.Store(true)
	c := Must(&Options{Backend: r})
	t.Cleanup(func() { c.Close() })
	return c.Cached(time.Minute, append(opts, CacheStatusHeader("X-Cache"))...)(h)
}

// TestHonorRequestBackendDownRequestsShareRun: with
// HonorRequestCacheControl alone and the backend down, identical requests
// share one run, which stores nothing; the waiters report BYPASS as their
// leader does.
func TestHonorRequestBackendDownRequestsShareRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		h := &counter{body: "report", fn: func(w http.ResponseWriter, _ *http.Request) {
			<-release
		}}
		view := downView(t, h, HonorRequestCacheControl())
		ws := concurrentGets(view, release, 5, "/report")
		assert.Equal(t, int64(1), h.calls.Load(), "one handler run for identical requests")
		for _, w := range ws {
			assert.Equal(t, "report #1", w.Body.String())
			assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"))
		}
	})
}

// TestHonorRequestBackendDownRefusedNotHanded: with
// HonorRequestCacheControl alone and the backend down, a response the view
// would refuse (private, Set-Cookie, Vary: *) answers its own request
// only.
func TestHonorRequestBackendDownRefusedNotHanded(t *testing.T) {
	for name, set := range map[string][2]string{
		"private":    {"Cache-Control", "private"},
		"set-cookie": {"Set-Cookie", "session=one-client"},
		"vary-star":  {"Vary", "*"},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				h := &counter{body: "account", fn: func(w http.ResponseWriter, _ *http.Request) {
					<-release
					w.Header().Add(set[0], set[1])
				}}
				view := downView(t, h, HonorRequestCacheControl())
				const n = 3
				ws := concurrentGets(view, release, n, "/account")
				seen := map[string]bool{}
				for _, w := range ws {
					b := w.Body.String()
					assert.False(t, seen[b], "%q was served to two clients", b)
					seen[b] = true
				}
				assert.Equal(t, int64(n), h.calls.Load(), "each request ran the handler")
			})
		})
	}
}

// TestHonorRequestBackendDownDirectivesRunAlone: with
// HonorRequestCacheControl alone and the backend down, a request whose
// directives refuse a stored response (no-cache, no-store, max-age=0)
// neither waits for another's run nor makes others wait for it.
func TestHonorRequestBackendDownDirectivesRunAlone(t *testing.T) {
	for _, cc := range []string{"no-cache", "no-store", "max-age=0"} {
		t.Run(cc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
					<-release
				}}
				view := downView(t, h, HonorRequestCacheControl())
				var wg sync.WaitGroup
				wg.Go(func() { get(view, "/page") })
				synctest.Wait()
				wg.Go(func() { get(view, "/page", "Cache-Control", cc) })
				synctest.Wait()
				assert.Equal(t, int64(2), h.calls.Load(), "the %s request waits for the first's run", cc)
				wg.Go(func() { get(view, "/page") })
				synctest.Wait()
				assert.Equal(t, int64(2), h.calls.Load(), "a plain request joins the plain one's run")
				close(release)
				wg.Wait()
			})
		})
	}
}

// TestHonorRequestBackendDownOnlyIfCached: with HonorRequestCacheControl
// alone and the backend down, only-if-cached is answered 504 without
// running the handler.
func TestHonorRequestBackendDownOnlyIfCached(t *testing.T) {
	h := &counter{body: "page"}
	view := downView(t, h, HonorRequestCacheControl())
	w := get(view, "/page", "Cache-Control", "only-if-cached")
	assert.Equal(t, http.StatusGatewayTimeout, w.Code)
	assert.Equal(t, int64(0), h.calls.Load(), "only-if-cached never runs the handler")
}
