package caching

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// httpDate is the clock's time plus d as an HTTP-date.
func (e *viewEnv) httpDate(d time.Duration) string {
	return e.clock.Now().Add(d).Format(http.TimeFormat)
}

// sharedView is a SharedCache view of h with X-Cache.
func (e *viewEnv) sharedView(h http.Handler, opts ...ViewOption) http.Handler {
	return e.c.Cached(time.Hour, append([]ViewOption{SharedCache(), CacheStatusHeader("X-Cache")}, opts...)...)(h)
}

// TestSharedCacheStoring covers RFC 9111 section 3 in a view.
func TestSharedCacheStoring(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		tests := []struct {
			name   string
			fn     func(w http.ResponseWriter, r *http.Request)
			stored bool
		}{
			{"§3 max-age", cacheControl("max-age=60"), true},
			{"§3 no freshness: not stored", nil, false},
			{"§3 heuristic: Last-Modified", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
			}, true},
			{"§3 any status with explicit freshness", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(http.StatusNotFound)
			}, true},
			{"§3 206 never", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(http.StatusPartialContent)
			}, false},
			{"§3 private", cacheControl("private, max-age=60"), false},
			{"§3 no-store", cacheControl("no-store, max-age=60"), false},
			{"Set-Cookie never stored", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				w.Header().Set("Set-Cookie", "a=1")
			}, false},
			{"RFC 9213 CDN-Cache-Control over Cache-Control", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("CDN-Cache-Control", "max-age=60")
			}, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				h := &counter{body: "x", fn: tt.fn}
				ch := e.sharedView(h)
				get(ch, "/a")
				w := get(ch, "/a")
				if tt.stored {
					assert.EqualValues(t, 1, h.calls.Load())
					assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
				} else {
					assert.EqualValues(t, 2, h.calls.Load())
				}
			})
		}
	})
}

// TestSharedCacheAuthorization is RFC 9111 section 3.5: a response to a
// request with Authorization is stored, and a stored response answers one,
// only when it says public, s-maxage or must-revalidate.
func TestSharedCacheAuthorization(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "x", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
		}}
		ch := e.sharedView(h)
		get(ch, "/a?cc=max-age%3D60")
		get(ch, "/a?cc=max-age%3D60", "Authorization", "Bearer u1")
		assert.EqualValues(t, 2, h.calls.Load(), "an anonymous entry without public never answers Authorization")
		get(ch, "/a?cc=max-age%3D60")
		assert.EqualValues(t, 2, h.calls.Load(), "and was not replaced")

		get(ch, "/p?cc=public,max-age%3D60", "Authorization", "Bearer u1")
		w := get(ch, "/p?cc=public,max-age%3D60", "Authorization", "Bearer u2")
		assert.EqualValues(t, 3, h.calls.Load(), "public: stored and shared")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	})
}

// TestSharedCacheAge is RFC 9111 section 4.2.3: the upstream Age counts, a
// hit's Age is the corrected initial age plus the time stored, and a
// response older than its lifetime on arrival is stale.
func TestSharedCacheAge(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "x", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Age", r.URL.Query().Get("age"))
			w.Header().Set("Date", e.httpDate(-5*time.Second))
		}}
		ch := e.sharedView(h)
		get(ch, "/a?age=10")
		e.clock.Advance(20 * time.Second)
		w := get(ch, "/a?age=10")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "30", w.Header().Get("Age"), "10 upstream + 20 stored (the Date's 5 s is less than Age)")
		e.clock.Advance(29 * time.Second)
		assert.Equal(t, "HIT", get(ch, "/a?age=10").Header().Get("X-Cache"), "age 59: fresh")
		e.clock.Advance(time.Second)
		assert.Equal(t, "x #2", get(ch, "/a?age=10").Body.String(), "age 60: stale (§4.2: fresh while the age is under the lifetime)")

		get(ch, "/b?age=100")
		assert.Equal(t, "x #4", get(ch, "/b?age=100").Body.String(), "stale on arrival: Age 100 > max-age 60")

		get(ch, "/c?age=0")
		e.clock.Advance(3 * time.Second)
		assert.Equal(t, "8", get(ch, "/c?age=0").Header().Get("Age"), "the apparent age from Date counts")
	})
}

// TestSharedCacheRevalidation is RFC 9111 section 4.3: a stale entry is
// revalidated with its validators; a 304 freshens it and updates its
// header; the client gets the full response or its own 304.
func TestSharedCacheRevalidation(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var conditional atomic.Int64
		var version atomic.Int64
		version.Store(1)
		h := &counter{body: "body", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("X-Call", strconv.FormatInt(conditional.Load(), 10))
			etag := `"v` + strconv.FormatInt(version.Load(), 10) + `"`
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				conditional.Add(1)
				w.Header().Set("X-Call", strconv.FormatInt(conditional.Load(), 10))
				w.WriteHeader(http.StatusNotModified) // what the counter writes next goes nowhere
			}
		}}
		ch := e.sharedView(h)
		require.Equal(t, "body #1", get(ch, "/a").Body.String())
		w := get(ch, "/a", "If-None-Match", `"v1"`)
		assert.Equal(t, http.StatusNotModified, w.Code, "the client's conditional is answered from the entry")

		e.clock.Advance(11 * time.Second)
		w = get(ch, "/a")
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, "body #1", w.Body.String(), "the stored body")
		assert.Equal(t, "1", w.Header().Get("X-Call"), "§4.3.4: the 304's header updates the entry")
		assert.EqualValues(t, 1, conditional.Load())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "0", w.Header().Get("Age"), "freshened by the 304")

		e.clock.Advance(5 * time.Second)
		w = get(ch, "/a")
		assert.Equal(t, "1", w.Header().Get("X-Call"), "fresh again for 10 s: no handler run")
		assert.EqualValues(t, 2, h.calls.Load())

		e.clock.Advance(11 * time.Second)
		w = get(ch, "/a", "If-None-Match", `"v1"`)
		assert.Equal(t, http.StatusNotModified, w.Code, "its own 304 after a revalidation")
		assert.EqualValues(t, 2, conditional.Load())

		version.Store(2)
		e.clock.Advance(11 * time.Second)
		w = get(ch, "/a")
		assert.Equal(t, "body #4", w.Body.String(), "a 200 replaces the entry")
		assert.Equal(t, "body #4", get(ch, "/a").Body.String())
	})
}

// TestSharedCacheNoCacheRevalidatesEveryUse: a no-cache response is stored
// and revalidated before every reuse (RFC 9111 section 5.2.2.4).
func TestSharedCacheNoCacheRevalidatesEveryUse(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	var notModified atomic.Int64
	h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"x"`)
		if r.Header.Get("If-None-Match") == `"x"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
		}
	}}
	ch := e.sharedView(h)
	get(ch, "/a")
	for range 3 {
		assert.Equal(t, "b #1", get(ch, "/a").Body.String())
	}
	assert.EqualValues(t, 3, notModified.Load())
}

// TestSharedCacheStaleDirectives is RFC 5861 and RFC 9111 section 4.2.4:
// the response's stale-if-error and stale-while-revalidate, bounded by the
// options; must-revalidate forbids both.
func TestSharedCacheStaleDirectives(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var fail atomic.Bool
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
			if fail.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}}
		ch := e.sharedView(h, StaleIfError(time.Minute))
		get(ch, "/sie?cc=max-age%3D1,stale-if-error%3D600")
		get(ch, "/mr?cc=max-age%3D1,stale-if-error%3D600,must-revalidate")
		fail.Store(true)
		e.clock.Advance(30 * time.Second)
		w := get(ch, "/sie?cc=max-age%3D1,stale-if-error%3D600")
		assert.Equal(t, 200, w.Code, "stale-if-error: the stale entry replaces the 503")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, 503, get(ch, "/mr?cc=max-age%3D1,stale-if-error%3D600,must-revalidate").Code, "must-revalidate forbids it")
		e.clock.Advance(40 * time.Second)
		assert.Equal(t, 503, get(ch, "/sie?cc=max-age%3D1,stale-if-error%3D600").Code, "the option bounds the response's 600 s to 60 s")
	})
}

// TestSharedCacheStaleWhileRevalidate: the response's window, served STALE
// while one background run refreshes the entry.
func TestSharedCacheStaleWhileRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		h := &counter{body: "b", fn: cacheControl("max-age=10, stale-while-revalidate=30")}
		ch := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"), StaleWhileRevalidate(time.Minute))(h)
		get(ch, "/a")
		time.Sleep(15 * time.Second)
		w := get(ch, "/a")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "b #1", w.Body.String())
		synctest.Wait()
		assert.EqualValues(t, 2, h.calls.Load(), "one background refresh")
		assert.Equal(t, "b #2", get(ch, "/a").Body.String())
		time.Sleep(45 * time.Second)
		assert.Equal(t, "b #3", get(ch, "/a").Body.String(), "past the window: a foreground run")
	})
}

// TestSharedCacheHEADFreshens is RFC 9111 section 4.3.5.
func TestSharedCacheHEADFreshens(t *testing.T) {
	e := newViewEnv(t, viewStores[1])
	h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"x"`)
		w.Header().Set("X-Seen", r.Method)
	}}
	ch := e.sharedView(h)
	get(ch, "/a")
	e.clock.Advance(20 * time.Second)
	w := send(ch, http.MethodHead, "/a")
	assert.Equal(t, "HEAD", w.Header().Get("X-Seen"))
	w = get(ch, "/a")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the HEAD freshened the GET")
	assert.Equal(t, "HEAD", w.Header().Get("X-Seen"), "with the HEAD's header")
	assert.Equal(t, "b #1", w.Body.String())
}

// TestSharedCacheRange: a Range request is answered from a stored 200.
func TestSharedCacheRange(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	h := &counter{body: "0123456789", fn: cacheControl("max-age=60")}
	ch := e.sharedView(h)
	get(ch, "/a")
	w := get(ch, "/a", "Range", "bytes=0-3")
	assert.Equal(t, http.StatusPartialContent, w.Code)
	assert.Equal(t, "0123", w.Body.String())
	assert.EqualValues(t, 1, h.calls.Load())
}

// TestInvalidateOnWrite is RFC 9111 section 4.4, in the default mode: an
// unsafe method with a non-error response drops its path and the paths of
// its Location and Content-Location on the same host.
func TestInvalidateOnWrite(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		reads := &counter{body: "r"}
		mux := http.NewServeMux()
		view := e.c.Cached(time.Hour, InvalidateOnWrite())
		mux.Handle("GET /items/{id}", view(reads))
		mux.Handle("/items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Query().Get("answer") {
			case "error":
				w.WriteHeader(http.StatusConflict)
			case "location":
				w.Header().Set("Location", "/items/9")
				w.Header().Set("Content-Location", "http://other.example/items/8")
				w.WriteHeader(http.StatusCreated)
			case "panic":
				panic(http.ErrAbortHandler)
			}
		})))
		fill := func() {
			for _, p := range []string{"/items/1", "/items/1?page=2", "/items/9", "/items/8"} {
				get(mux, p)
			}
		}
		fill()
		calls := reads.calls.Load()
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, "PURGE"} {
			send(mux, m, "/items/1")
			get(mux, "/items/1")
			get(mux, "/items/1?page=2")
			assert.Equal(t, calls+2, reads.calls.Load(), "%s drops every query of the path", m)
			calls = reads.calls.Load()
		}
		send(mux, http.MethodPut, "/items/1?answer=error")
		get(mux, "/items/1")
		assert.Equal(t, calls, reads.calls.Load(), "an error response invalidates nothing")
		send(mux, http.MethodPost, "/items/1?answer=location")
		get(mux, "/items/9")
		get(mux, "/items/8")
		assert.Equal(t, calls+1, reads.calls.Load(), "Location on the same host: dropped; another host's: kept")
		calls = reads.calls.Load()
		assert.Panics(t, func() { send(mux, http.MethodDelete, "/items/1?answer=panic") })
		get(mux, "/items/1")
		assert.Equal(t, calls+1, reads.calls.Load(), "a handler that panicked may have written")
		send(mux, http.MethodOptions, "/items/1")
		get(mux, "/items/1")
		assert.Equal(t, calls+1, reads.calls.Load(), "OPTIONS is safe")
	})
}

// TestSameOriginPath: the Location and Content-Location that a write
// invalidates are those on the request's host and port, over either scheme
// (a proxy that terminates TLS makes a handler see http while its
// Location says https).
func TestSameOriginPath(t *testing.T) {
	plain := httptest.NewRequest(http.MethodPost, "http://shop.example/items/1", nil)
	tls := httptest.NewRequest(http.MethodPost, "https://shop.example/items/1", nil)
	for _, c := range []struct {
		r    *http.Request
		ref  string
		path string // "": not the same origin
	}{
		{plain, "/items/9", "/items/9"},
		{plain, "9", "/items/9"},
		{plain, "http://shop.example/items/9", "/items/9"},
		{plain, "HTTP://SHOP.EXAMPLE:80/items/9", "/items/9"},
		{plain, "https://shop.example/items/9", "/items/9"},
		{plain, "https://shop.example:443/items/9", "/items/9"},
		{tls, "http://shop.example/items/9", "/items/9"},
		{tls, "https://shop.example/items/9", "/items/9"},
		{plain, "http://shop.example:443/items/9", "/items/9"},
		{tls, "https://shop.example:80/items/9", "/items/9"},
		{plain, "https://shop.example:8443/items/9", ""},
		{plain, "http://shop.example:8080/items/9", ""},
		{plain, "https://other.example/items/9", ""},
		{plain, "//other.example/items/9", ""},
		{plain, "ftp://shop.example/items/9", ""},
		{plain, "https://shop.example", ""},
		{plain, "%zz", ""},
	} {
		p, ok := sameOriginPath(c.r, c.r.URL, c.ref)
		assert.Equal(t, c.path != "", ok, "%s from %s", c.ref, c.r.URL)
		assert.Equal(t, c.path, p, "%s from %s", c.ref, c.r.URL)
	}
}

// TestInvalidateOnWriteBehindTLSTerminator: a write that reaches the
// handler over plain HTTP, from a proxy that terminated TLS, and answers
// with an https Location drops the cached reads of that path.
func TestInvalidateOnWriteBehindTLSTerminator(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	reads := &counter{body: "r"}
	mux := http.NewServeMux()
	view := e.c.Cached(time.Hour, InvalidateOnWrite())
	mux.Handle("GET /items/{id}", view(reads))
	mux.Handle("POST /items", view(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://"+r.Host+"/items/9")
		w.WriteHeader(http.StatusCreated)
	})))
	get(mux, "/items/9")
	get(mux, "/items/9")
	require.Equal(t, int64(1), reads.calls.Load(), "the second read is a hit")
	send(mux, http.MethodPost, "/items")
	get(mux, "/items/9")
	assert.Equal(t, int64(2), reads.calls.Load(), "the https Location of a write over http is invalidated")
}

// TestHonorRequestCacheControl is RFC 9111 section 5.2.1, in both modes.
func TestHonorRequestCacheControl(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ViewOption
	}{{"default mode", nil}, {"SharedCache", []ViewOption{SharedCache()}}} {
		t.Run(mode.name, func(t *testing.T) {
			e := newViewEnv(t, viewStores[0])
			// Kept an hour past freshness, for max-stale.
			h := &counter{body: "b", fn: cacheControl("max-age=60, stale-if-error=3600")}
			opts := append(mode.opts, HonorRequestCacheControl(), CacheStatusHeader("X-Cache"), StaleIfError(time.Hour))
			ch := e.c.Cached(time.Minute, opts...)(h)
			w := get(ch, "/a", "Cache-Control", "only-if-cached")
			assert.Equal(t, http.StatusGatewayTimeout, w.Code, "only-if-cached with nothing stored")
			assert.EqualValues(t, 0, h.calls.Load())
			get(ch, "/a", "Cache-Control", "no-store")
			assert.Equal(t, 504, get(ch, "/a", "Cache-Control", "only-if-cached").Code, "no-store kept it out")
			get(ch, "/a")
			assert.Equal(t, 200, get(ch, "/a", "Cache-Control", "only-if-cached").Code)
			e.clock.Advance(30 * time.Second)
			assert.Equal(t, "b #2", get(ch, "/a").Body.String())
			assert.Equal(t, "b #3", get(ch, "/a", "Cache-Control", "no-cache").Body.String())
			e.clock.Advance(time.Second)
			assert.Equal(t, "b #3", get(ch, "/a", "Cache-Control", "max-age=5").Body.String())
			assert.Equal(t, "b #4", get(ch, "/a", "Cache-Control", "max-age=0").Body.String())
			e.clock.Advance(50 * time.Second)
			assert.Equal(t, "b #4", get(ch, "/a", "Cache-Control", "min-fresh=5").Body.String())
			assert.Equal(t, "b #5", get(ch, "/a", "Cache-Control", "min-fresh=30").Body.String())
			e.clock.Advance(70 * time.Second)
			w = get(ch, "/a", "Cache-Control", "max-stale=100")
			assert.Equal(t, "b #5", w.Body.String(), "max-stale accepts the stale entry")
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
			assert.Equal(t, "b #6", get(ch, "/a", "Cache-Control", "max-stale=5").Body.String())
		})
	}
	e := newViewEnv(t, viewStores[0])
	h := &counter{body: "b"}
	ch := e.c.Cached(time.Minute)(h)
	get(ch, "/a")
	get(ch, "/a", "Cache-Control", "no-cache")
	assert.EqualValues(t, 1, h.calls.Load(), "ignored by default")
}

func TestSharedCacheOptionErrors(t *testing.T) {
	for _, opts := range [][]ViewOption{
		{TargetedCacheControl("Surrogate-Control")},
		{MaxHeuristicFreshness(time.Hour)},
		{SharedCache(), RespectMaxAge()},
		{SharedCache(), StoreStatuses(200)},
		{SharedCache(), MaxHeuristicFreshness(-time.Second)},
		{SharedCache(), TargetedCacheControl("bad name")},
	} {
		_, _, err := newViewConfig(opts, false)
		assert.ErrorIs(t, err, ErrInvalidOption)
	}
	cfg, _, err := newViewConfig([]ViewOption{SharedCache(), TargetedCacheControl("surrogate-control")}, false)
	require.NoError(t, err)
	assert.Equal(t, "Surrogate-Control", cfg.targeted)
	assert.True(t, cfg.invalidateOnWrite, "SharedCache implies InvalidateOnWrite")
}
