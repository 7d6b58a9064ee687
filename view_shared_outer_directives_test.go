package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outerFields is a middleware outside the view that sets header fields on
// every response before the handler runs (chi's middleware.SetHeader, a
// site-wide default of Cache-Control), pairs of name and value.
func outerFields(next http.Handler, fields ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(fields); i += 2 {
			w.Header().Set(fields[i], fields[i+1])
		}
		next.ServeHTTP(w, r)
	})
}

// etagHandler sets only an ETag, and answers a matching If-None-Match with
// a 304.
func etagHandler() *counter {
	return &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"x"`)
		if r.Header.Get("If-None-Match") == `"x"` {
			w.WriteHeader(http.StatusNotModified)
		}
	}}
}

// TestSharedCacheOuterCacheControlRevalidationFreshens: an outer middleware
// gives every response its freshness before the handler runs, and the
// handler sets only an ETag. The 200 was judged with the outer
// Cache-Control and stored without it (a hit sends the outer's own), and
// its 304 (or HEAD 200) was judged without it: "no freshness", and the
// entry was deleted, so the handler ran in full after every revalidation.
// The entry now keeps the outer directives it was judged with, and the
// revalidation freshens it.
func TestSharedCacheOuterCacheControlRevalidationFreshens(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := etagHandler()
				ch := outerFields(e.sharedView(h), "Cache-Control", "public, max-age=10")
				get(ch, "/a")
				require.Equal(t, "HIT", get(ch, "/a").Header().Get("X-Cache"), "the 200 is stored")
				e.clock.Advance(20 * time.Second)
				w := send(ch, method, "/a") // revalidated: 304 (or HEAD 200 with the ETag)
				require.EqualValues(t, 2, h.calls.Load())
				require.Equal(t, http.StatusOK, w.Code)

				for i := range 2 {
					w = get(ch, "/a")
					assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "hit %d: the revalidated entry was freshened", i)
					assert.Equal(t, "b #1", w.Body.String())
					assert.Equal(t, []string{"public, max-age=10"}, w.Header().Values("Cache-Control"))
				}
				assert.EqualValues(t, 2, h.calls.Load(), "the handler ran again after its 304")
			})
		})
	}
}

// TestSharedCacheOuterStaleWhileRevalidateServesStale: the outer
// Cache-Control's stale-while-revalidate kept the entry for its window, but
// the window was read from the stored header, without the outer field: past
// max-age the request waited for the handler instead of being served stale.
func TestSharedCacheOuterStaleWhileRevalidateServesStale(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b"}
		ch := outerFields(e.sharedView(h, StaleWhileRevalidate(time.Minute)),
			"Cache-Control", "public, max-age=10, stale-while-revalidate=60")
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		w := get(ch, "/a")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "within stale-while-revalidate")
		assert.Equal(t, "b #1", w.Body.String())
	})
}

// TestSharedCacheOuterNoStaleDirectiveRefusesMaxStale: an outer
// middleware's no-cache (or must-revalidate) forbids serving the response
// stale (RFC 9111 sections 5.2.2.4, 5.2.2.2), and a client's max-stale does
// not lift it. It was forgotten once stored, and the stale entry was served
// to max-stale unvalidated.
func TestSharedCacheOuterNoStaleDirectiveRefusesMaxStale(t *testing.T) {
	for _, cc := range []string{"no-cache", "max-age=10, must-revalidate"} {
		t.Run(cc, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := &counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("ETag", `"x"`) // no 304: a revalidation runs in full
				}}
				ch := outerFields(e.sharedView(h, HonorRequestCacheControl()), "Cache-Control", cc)
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				w := get(ch, "/a", "Cache-Control", "max-stale")
				assert.EqualValues(t, 2, h.calls.Load(),
					"%s entry served stale without validation (X-Cache %q)", cc, w.Header().Get("X-Cache"))
				assert.Equal(t, "b #2", w.Body.String())
			})
		})
	}
}

// TestSharedCacheOuterTargetedFieldKept: a CDN-Cache-Control an outer
// middleware sets replaces Cache-Control for the view (RFC 9213), here the
// handler's max-age=0 for browsers. Read from the stored header without
// it, a 304 left the entry stale on arrival, revalidated on every request,
// and its stale-while-revalidate was never used.
func TestSharedCacheOuterTargetedFieldKept(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=0")
			w.Header().Set("ETag", `"x"`)
			if r.Header.Get("If-None-Match") == `"x"` {
				w.WriteHeader(http.StatusNotModified)
			}
		}}
		ch := outerFields(e.sharedView(h, StaleWhileRevalidate(time.Minute)),
			"CDN-Cache-Control", "max-age=10, stale-while-revalidate=30")
		get(ch, "/a")
		require.Equal(t, "HIT", get(ch, "/a").Header().Get("X-Cache"))
		e.clock.Advance(15 * time.Second)
		w := get(ch, "/a")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "within the outer stale-while-revalidate")
		// Waited for, not polled: a poll that read the entry just before
		// the revalidation stored it, and found the revalidation ended once
		// it judged the entry stale, started a second one (a third call).
		e.c.wait()
		require.EqualValues(t, 2, h.calls.Load(), "the background revalidation")
		w = get(ch, "/a")
		require.Equal(t, "HIT", w.Header().Get("X-Cache"), "its 304 freshened the entry with the outer CDN-Cache-Control")
		assert.Equal(t, "max-age=10, stale-while-revalidate=30", w.Header().Get("CDN-Cache-Control"))
		assert.Equal(t, "max-age=0", w.Header().Get("Cache-Control"))
		assert.EqualValues(t, 2, h.calls.Load())
	})
}

// TestSharedCacheOuterExpiresKept: an outer middleware stamps Expires on
// every response; the revalidation freshens the entry with the Expires of
// the revalidating request.
func TestSharedCacheOuterExpiresKept(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := etagHandler()
		view := e.sharedView(h)
		ch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Expires", e.httpDate(10*time.Second))
			view.ServeHTTP(w, r)
		})
		get(ch, "/a")
		require.Equal(t, "HIT", get(ch, "/a").Header().Get("X-Cache"))
		e.clock.Advance(20 * time.Second)
		get(ch, "/a") // 304
		require.EqualValues(t, 2, h.calls.Load())
		e.clock.Advance(5 * time.Second)
		w := get(ch, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "fresh for the Expires of the revalidation")
		assert.Equal(t, []string{e.httpDate(10 * time.Second)}, w.Header().Values("Expires"), "the outer's Expires of this request")
		assert.EqualValues(t, 2, h.calls.Load())
	})
}

// TestSharedCacheHitSendsOuterCurrentDirectives: the outer directives the
// entry keeps are what its freshness was judged from, never what a hit
// sends: a hit sends the fields the outer middleware sets on its request.
func TestSharedCacheHitSendsOuterCurrentDirectives(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := etagHandler()
		view := e.sharedView(h)
		var cc atomic.Value
		cc.Store("public, max-age=10")
		ch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", cc.Load().(string))
			view.ServeHTTP(w, r)
		})
		get(ch, "/a")
		cc.Store("public, max-age=60, immutable")
		w := get(ch, "/a")
		require.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, []string{"public, max-age=60, immutable"}, w.Header().Values("Cache-Control"))
		e.clock.Advance(20 * time.Second) // stale: stored at max-age=10
		w = get(ch, "/a")
		assert.EqualValues(t, 2, h.calls.Load(), "revalidated")
		assert.Equal(t, []string{"public, max-age=60, immutable"}, w.Header().Values("Cache-Control"))
	})
}

// TestSharedCacheOuterPublicAnswersAuthorization: a response an outer
// middleware made public may answer a request with Authorization (RFC 9111
// section 3.5), as it was judged when stored.
func TestSharedCacheOuterPublicAnswersAuthorization(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := etagHandler()
		ch := outerFields(e.sharedView(h), "Cache-Control", "public, max-age=10")
		get(ch, "/a")
		w := get(ch, "/a", "Authorization", "Bearer t")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.EqualValues(t, 1, h.calls.Load())
	})
}

// TestHonorRequestOuterMustRevalidateRefusesMaxStale: in the default mode
// with HonorRequestCacheControl, an outer middleware's must-revalidate
// forbids serving the response stale to a client's max-stale, as the
// handler's own does (TestMaxStaleRespectsMustRevalidate). It was read from
// the stored header, without the outer field.
func TestHonorRequestOuterMustRevalidateRefusesMaxStale(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b"}
		view := e.c.Cached(time.Minute, HonorRequestCacheControl(), CacheStatusHeader("X-Cache"), StaleIfError(time.Hour))(h)
		ch := outerFields(view, "Cache-Control", "max-age=60, must-revalidate")
		get(ch, "/a")
		e.clock.Advance(70 * time.Second)
		w := get(ch, "/a", "Cache-Control", "max-stale")
		assert.Equal(t, "b #2", w.Body.String(), "not served stale")
		assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
	})
}
