package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// downSharedView returns a SharedCache view (with HonorRequestCacheControl)
// of h on a Cache whose backend is down.
func downSharedView(t *testing.T, h http.Handler) http.Handler {
	r := &remote{Backend: newSimple(t, nil)}
	r.fail.Store(true)
	c := Must(&Options{Backend: r})
	t.Cleanup(func() { c.Close() })
	return c.Cached(time.Minute, SharedCache(), HonorRequestCacheControl(), CacheStatusHeader("X-Cache"))(h)
}

// gatedDownView is downSharedView over a counter serving body, cacheable
// for a minute, whose runs wait for release to be closed.
func gatedDownView(t *testing.T, body string) (view http.Handler, h *counter, release chan struct{}) {
	release = make(chan struct{})
	h = &counter{body: body, fn: func(w http.ResponseWriter, _ *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
	}}
	return downSharedView(t, h), h, release
}

// TestSharedCacheBackendDownRequestsShareRun: in a SharedCache view (the
// mode of examples/proxy), a failed lookup passed every request to the
// handler, so that while Redis blipped or the breaker was open every
// identical request in flight reached an origin sized for cached traffic.
// They now wait for one run, as in the default mode
// (TestCachedBackendDownEveryRequestRuns); nothing is stored.
func TestSharedCacheBackendDownRequestsShareRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		view, h, release := gatedDownView(t, "report")
		const n = 20
		ws := make([]*httptest.ResponseRecorder, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { ws[i] = get(view, "/report") })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.Equal(t, int64(1), h.calls.Load(), "one handler run for identical requests")
		for _, w := range ws {
			assert.Equal(t, "report #1", w.Body.String())
		}
		assert.Equal(t, "BYPASS", get(view, "/report").Header().Get("X-Cache"), "nothing was stored")
	})
}

// TestSharedCacheBackendDownRefusedNotHanded: with the backend down, a
// response the view would refuse to store for what it is (private, a
// Set-Cookie, Vary: *) is its own client's only: the requests that waited
// for its run each run the handler, as with the backend up.
func TestSharedCacheBackendDownRefusedNotHanded(t *testing.T) {
	for name, set := range map[string][2]string{
		"private":    {"Cache-Control", "private, max-age=60"},
		"set-cookie": {"Set-Cookie", "session=one-client"},
		"vary-star":  {"Vary", "*"},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				h := &counter{body: "account", fn: func(w http.ResponseWriter, _ *http.Request) {
					<-release
					w.Header().Set("Cache-Control", "max-age=60")
					w.Header().Add(set[0], set[1])
				}}
				view := downSharedView(t, h)
				const n = 3
				bodies := make(chan string, n)
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() { bodies <- get(view, "/account").Body.String() })
				}
				synctest.Wait()
				close(release)
				wg.Wait()
				close(bodies)
				seen := map[string]bool{}
				for b := range bodies {
					assert.False(t, seen[b], "%q was served to two clients", b)
					seen[b] = true
				}
				assert.Equal(t, int64(n), h.calls.Load(), "each request ran the handler")
			})
		})
	}
}

// TestSharedCacheBackendDownVariantsShareRuns: with the backend down, once
// the view has seen the page vary, the requests of each variant share a run
// of their own, and each is served its variant's response.
func TestSharedCacheBackendDownVariantsShareRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		runs := map[string]int{}
		view := downSharedView(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			lang := r.Header.Get("Accept-Language")
			mu.Lock()
			runs[lang]++
			mu.Unlock()
			if lang != "de" {
				<-release
			}
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "Accept-Language")
			fmt.Fprint(w, "page in "+lang)
		}))
		get(view, "/page", "Accept-Language", "de") // the page varies
		delete(runs, "de")
		langs := []string{"en", "fr", "en", "fr", "en", "fr"}
		ws := make([]*httptest.ResponseRecorder, len(langs))
		var wg sync.WaitGroup
		for i, lang := range langs {
			wg.Go(func() { ws[i] = get(view, "/page", "Accept-Language", lang) })
			synctest.Wait()
		}
		close(release)
		wg.Wait()
		for i, w := range ws {
			assert.Equal(t, "page in "+langs[i], w.Body.String())
		}
		assert.Equal(t, map[string]int{"en": 1, "fr": 1}, runs, "one run per variant")
	})
}

// TestSharedCacheBackendDownSoloRequestsStaySolo: with the backend down, a
// request that would not wait for another's run with the backend up does
// not wait for one either (Authorization without UserKey, the request's
// no-cache or no-store): each reaches the handler while the other's run
// is in progress.
func TestSharedCacheBackendDownSoloRequestsStaySolo(t *testing.T) {
	plain := []string{}
	for _, tc := range []struct {
		name          string
		first, second []string // header pairs
	}{
		{"authorization", plain, []string{"Authorization", "Bearer alice"}},
		{"no-cache", plain, []string{"Cache-Control", "no-cache"}},
		{"no-store", plain, []string{"Cache-Control", "no-store"}},
		{"max-age=0", plain, []string{"Cache-Control", "max-age=0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				view, h, release := gatedDownView(t, "page")
				var wg sync.WaitGroup
				wg.Go(func() { get(view, "/page", tc.first...) })
				synctest.Wait()
				wg.Go(func() { get(view, "/page", tc.second...) })
				synctest.Wait()
				assert.Equal(t, int64(2), h.calls.Load(), "the second request waits for the first's run")
				close(release)
				wg.Wait()
			})
		})
	}
}

// TestSharedCacheBackendDownRangeLeads: with the backend down, a Range
// leads a run as with the backend up: a plain request waits for it, and
// is answered with its handler's 200 (which ignores the Range), one run
// for both. Told to join only, the Range ran on its own and the plain
// request ran the handler again.
func TestSharedCacheBackendDownRangeLeads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		view, h, release := gatedDownView(t, "page")
		var wg sync.WaitGroup
		wg.Go(func() { get(view, "/page", "Range", "bytes=0-3") })
		synctest.Wait()
		var plain *httptest.ResponseRecorder
		wg.Go(func() { plain = get(view, "/page") })
		synctest.Wait()
		assert.Equal(t, int64(1), h.calls.Load(), "the plain request waits for the Range's run")
		close(release)
		wg.Wait()
		assert.Equal(t, http.StatusOK, plain.Code)
		assert.Equal(t, "page #1", plain.Body.String(), "the Range's run")
		assert.Equal(t, int64(1), h.calls.Load(), "one run answered both")
	})
}

// TestSharedCacheBackendDownHeadPasses: with the backend down, a HEAD
// reaches the handler as before, and only-if-cached is answered 504.
func TestSharedCacheBackendDownHeadPasses(t *testing.T) {
	h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
	}}
	view := downSharedView(t, h)
	w := send(view, http.MethodHead, "/page")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"))
	w = get(view, "/page", "Cache-Control", "only-if-cached")
	assert.Equal(t, http.StatusGatewayTimeout, w.Code)
	assert.Equal(t, int64(1), h.calls.Load(), "only-if-cached never runs the handler")
}
