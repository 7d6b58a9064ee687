package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// counter is a handler that counts its calls and answers "<body> #<call>",
// so that a test sees whether a response came from the cache.
type counter struct {
	calls atomic.Int64
	fn    func(w http.ResponseWriter, r *http.Request) // sets status and header; may be nil
	body  string
}

func (h *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.calls.Add(1)
	w.Header().Set("Content-Type", "text/plain")
	if h.fn != nil {
		h.fn(w, r)
	}
	fmt.Fprintf(w, "%s #%d", h.body, n)
}

// send serves one request; hdr is name, value pairs.
func send(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func get(h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	return send(h, http.MethodGet, target, hdr...)
}

// viewStores are the stores the middleware is tested on: the simple store
// as it is (entries kept as Go values), and behind remote (encoded entries,
// GetMany, as on Redis or memcached).
var viewStores = []storeKind{
	{"local", func(t *testing.T, _ backend.Backend, clock *testutil.Clock, opts Options) (*Cache, backend.Backend) {
		s := newSimple(t, clock)
		opts.Backend, opts.Clock = s, clock.Now
		c, err := New(&opts)
		require.NoError(t, err)
		require.NotNil(t, c.store.local, "the in-process path")
		return c, s
	}},
	{"remote", func(t *testing.T, _ backend.Backend, clock *testutil.Clock, opts Options) (*Cache, backend.Backend) {
		s := &remote{Backend: newSimple(t, clock)}
		opts.Backend, opts.Clock = s, clock.Now
		c, err := New(&opts)
		require.NoError(t, err)
		require.Nil(t, c.store.local, "the remote path")
		return c, s
	}},
}

func forEachViewStore(t *testing.T, fn func(t *testing.T, k storeKind)) {
	for _, k := range viewStores {
		t.Run(k.name, func(t *testing.T) { fn(t, k) })
	}
}

// viewEnv is a Cache over a store kind with a fake clock.
type viewEnv struct {
	c     *Cache
	clock *testutil.Clock
	store backend.Backend
}

func newViewEnv(t *testing.T, k storeKind) *viewEnv {
	t.Helper()
	clock := testutil.NewClock()
	c, store := k.open(t, nil, clock, Options{})
	t.Cleanup(func() { c.Close() })
	return &viewEnv{c: c, clock: clock, store: store}
}

func TestCachedHitAndMiss(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "hello", fn: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Custom", "1")
		}}
		ch := e.c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)

		w := get(ch, "/a")
		assert.Equal(t, "hello #1", w.Body.String())
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
		etag := w.Header().Get("ETag")
		assert.Empty(t, etag, "the ETag is computed for the stored entry, not the miss")

		e.clock.Advance(7 * time.Second)
		w = get(ch, "/a")
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, "hello #1", w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "7", w.Header().Get("Age"))
		assert.Equal(t, "1", w.Header().Get("X-Custom"))
		assert.Equal(t, "text/plain", w.Header().Get("Content-Type"))
		assert.Equal(t, "8", w.Header().Get("Content-Length"))
		assert.NotEmpty(t, w.Header().Get("ETag"))
		assert.EqualValues(t, 1, h.calls.Load())

		e.clock.Advance(time.Minute)
		assert.Equal(t, "hello #2", get(ch, "/a").Body.String(), "expired after the TTL")

		st := e.c.Stats()
		assert.EqualValues(t, 1, st.Hits)
		assert.EqualValues(t, 2, st.Misses)
	})
}

func TestCachedHEADAnd304(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
		}}
		ch := e.c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)

		w := send(ch, http.MethodHead, "/p")
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
		assert.EqualValues(t, 1, h.calls.Load(), "a HEAD miss runs the handler")
		send(ch, http.MethodHead, "/p")
		assert.EqualValues(t, 2, h.calls.Load(), "but its response is not stored")

		get(ch, "/p")
		w = send(ch, http.MethodHead, "/p")
		assert.EqualValues(t, 3, h.calls.Load(), "HEAD answered from the GET entry")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Empty(t, w.Body.String())
		assert.Equal(t, "7", w.Header().Get("Content-Length"))
		etag := w.Header().Get("ETag")
		require.NotEmpty(t, etag)

		for _, tc := range []struct {
			name string
			hdr  []string
			want int
		}{
			{"If-None-Match", []string{"If-None-Match", etag}, 304},
			{"weak If-None-Match", []string{"If-None-Match", "W/" + etag}, 304},
			{"list", []string{"If-None-Match", `"x", ` + etag}, 304},
			{"other ETag", []string{"If-None-Match", `"x"`}, 200},
			{"If-Modified-Since", []string{"If-Modified-Since", "Thu, 01 Jan 2026 00:00:00 GMT"}, 304},
			{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"x"`, "If-Modified-Since", "Thu, 01 Jan 2026 00:00:00 GMT"}, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := get(ch, "/p", tc.hdr...)
				assert.Equal(t, tc.want, w.Code)
				if tc.want == 304 {
					assert.Empty(t, w.Body.String())
					assert.Equal(t, etag, w.Header().Get("ETag"))
				}
			})
		}
		assert.EqualValues(t, 3, h.calls.Load())
	})
}

// TestCachedStorageRules has one case per rule, including those where
// Flask-Caching's @cached goes wrong: each fails on Flask's behaviour.
func TestCachedStorageRules(t *testing.T) {
	tests := []struct {
		name   string
		opts   []ViewOption
		fn     func(w http.ResponseWriter, r *http.Request)
		first  []string // method, target, header pairs...
		second []string
		stored bool // whether the second request is served from the first's entry
	}{
		{name: "GET stored", first: []string{"GET", "/"}, second: []string{"GET", "/"}, stored: true},
		{name: "500 not stored (Flask caches it)", fn: status(500), first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "404 not stored by default", fn: status(404), first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "404 stored when allowed", opts: []ViewOption{StoreStatuses(200, 404)}, fn: status(404), first: []string{"GET", "/"}, second: []string{"GET", "/"}, stored: true},
		{name: "301 stored when allowed", opts: []ViewOption{StoreStatuses(301)}, fn: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusMovedPermanently) }, first: []string{"GET", "/"}, second: []string{"GET", "/"}, stored: true},
		{name: "Set-Cookie never stored (Flask replays it)", fn: func(w http.ResponseWriter, _ *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "alice"})
		}, first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "POST does not get the cached GET (Flask serves it)", first: []string{"GET", "/"}, second: []string{"POST", "/"}},
		{name: "POST not stored", first: []string{"POST", "/"}, second: []string{"GET", "/"}},
		{name: "PUT, DELETE not stored", first: []string{"DELETE", "/"}, second: []string{"GET", "/"}},
		{name: "no-store not stored (Flask ignores it)", fn: cacheControl("no-store"), first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "private not stored (Flask ignores it)", fn: cacheControl("private, max-age=60"), first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "no-cache not stored", fn: cacheControl("no-cache"), first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "public stored", fn: cacheControl("public, max-age=60"), first: []string{"GET", "/"}, second: []string{"GET", "/"}, stored: true},
		{name: "max-age=0 stored unless RespectMaxAge", fn: cacheControl("max-age=0"), first: []string{"GET", "/"}, second: []string{"GET", "/"}, stored: true},
		{name: "max-age=0 with RespectMaxAge", opts: []ViewOption{RespectMaxAge()}, fn: cacheControl("max-age=0"), first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "Vary: * not stored (Flask ignores Vary)", fn: vary("*"), first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "Authorization not shared (Flask shares it)", first: []string{"GET", "/", "Authorization", "Bearer alice"}, second: []string{"GET", "/", "Authorization", "Bearer bob"}},
		{name: "Authorization request not stored for anonymous", first: []string{"GET", "/", "Authorization", "Bearer alice"}, second: []string{"GET", "/"}},
		{name: "query string in the key", first: []string{"GET", "/?a=1"}, second: []string{"GET", "/?a=2"}},
		{name: "canonical query: order does not matter", first: []string{"GET", "/?b=2&a=1"}, second: []string{"GET", "/?a=1&b=2"}, stored: true},
		{name: "canonical query: duplicates matter", first: []string{"GET", "/?a=1&a=2"}, second: []string{"GET", "/?a=1"}},
		{name: "canonical query: spelling matters", first: []string{"GET", "/?q=a%20b"}, second: []string{"GET", "/?q=a+b"}},
		{name: "PathOnly", opts: []ViewOption{PathOnly()}, first: []string{"GET", "/?a=1"}, second: []string{"GET", "/?a=2"}, stored: true},
		{name: "QueryString ignore list", opts: []ViewOption{QueryString(QueryKeyOptions{Ignore: []string{"utm_*"}})}, first: []string{"GET", "/?a=1&utm_source=x"}, second: []string{"GET", "/?a=1"}, stored: true},
		{name: "paths apart", first: []string{"GET", "/a"}, second: []string{"GET", "/b"}},
		{name: "BypassIf", opts: []ViewOption{BypassIf(func(_ context.Context, r *http.Request) bool { return r.URL.Query().Has("nocache") })}, first: []string{"GET", "/?nocache"}, second: []string{"GET", "/?nocache"}},
		{name: "RefreshIf", opts: []ViewOption{RefreshIf(func(_ context.Context, r *http.Request) bool { return r.Header.Get("X-Refresh") != "" })}, first: []string{"GET", "/"}, second: []string{"GET", "/", "X-Refresh", "1"}},
		{name: "StoreIf refuses", opts: []ViewOption{StoreIf(func(r *Response) bool { return len(r.Body) < 3 })}, first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "StoreIf accepts", opts: []ViewOption{StoreIf(func(r *Response) bool { return r.Header.Get("Content-Type") == "text/plain" })}, first: []string{"GET", "/"}, second: []string{"GET", "/"}, stored: true},
		{name: "body over MaxBodySize", opts: []ViewOption{MaxBodySize(4)}, first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "Content-Length within the cap, body over it", opts: []ViewOption{MaxBodySize(4)}, fn: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Content-Length", "4") }, first: []string{"GET", "/"}, second: []string{"GET", "/"}},
		{name: "KeyFormat without path: one entry", opts: []ViewOption{KeyFormat("home")}, first: []string{"GET", "/a"}, second: []string{"GET", "/b"}, stored: true},
		{name: "KeyFunc", opts: []ViewOption{KeyFunc(func(r *http.Request) string { return r.Header.Get("X-Tenant") })}, first: []string{"GET", "/a", "X-Tenant", "t1"}, second: []string{"GET", "/b", "X-Tenant", "t1"}, stored: true},
		{name: "KeyFunc apart", opts: []ViewOption{KeyFunc(func(r *http.Request) string { return r.Header.Get("X-Tenant") })}, first: []string{"GET", "/a", "X-Tenant", "t1"}, second: []string{"GET", "/a", "X-Tenant", "t2"}},
		{name: "KeyFunc replaces the query", opts: []ViewOption{KeyFunc(func(r *http.Request) string { return r.URL.Query().Get("id") })}, first: []string{"GET", "/a?id=1&x=1"}, second: []string{"GET", "/b?x=2&id=1"}, stored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := &counter{body: "body", fn: tt.fn}
				ch := e.c.Cached(time.Minute, tt.opts...)(h)
				w1 := send(ch, tt.first[0], tt.first[1], tt.first[2:]...)
				w2 := send(ch, tt.second[0], tt.second[1], tt.second[2:]...)
				if tt.stored {
					assert.EqualValues(t, 1, h.calls.Load(), "second request served from the entry")
					assert.Equal(t, w1.Body.String(), w2.Body.String())
					assert.Equal(t, w1.Code, w2.Code)
				} else {
					assert.EqualValues(t, 2, h.calls.Load(), "second request ran the handler")
				}
				assert.LessOrEqual(t, len(w2.Header().Values("Set-Cookie")), 1, "a cookie is never replayed")
			})
		})
	}
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func cacheControl(v string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Cache-Control", v) }
}

func vary(v string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Vary", v) }
}

func TestCachedSetCookieNotReplayed(t *testing.T) {
	// Flask-Caching stores the first visitor's response with its
	// Set-Cookie and replays that session cookie to every later visitor.
	c := Must(nil)
	defer c.Close()
	ch := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("session"); err != nil {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "alice-secret"})
		}
		_, _ = w.Write([]byte("page"))
	}))
	first := get(ch, "/")
	require.Contains(t, first.Header().Get("Set-Cookie"), "alice-secret")
	for range 2 {
		w := get(ch, "/", "Cookie", "session=bob")
		assert.Equal(t, "page", w.Body.String())
		assert.Empty(t, w.Header().Values("Set-Cookie"), "alice's session replayed to bob")
	}
}

func TestCachedRespectMaxAge(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{fn: cacheControl("public, max-age=10")}
		ch := e.c.Cached(time.Hour, RespectMaxAge())(h)
		get(ch, "/")
		e.clock.Advance(9 * time.Second)
		get(ch, "/")
		assert.EqualValues(t, 1, h.calls.Load())
		e.clock.Advance(2 * time.Second)
		get(ch, "/")
		assert.EqualValues(t, 2, h.calls.Load(), "max-age capped the hour")
	})
}

func TestCachedVersion(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "v"}
		get(e.c.Cached(time.Minute, Version("1"))(h), "/")
		get(e.c.Cached(time.Minute, Version("1"))(h), "/")
		assert.EqualValues(t, 1, h.calls.Load())
		get(e.c.Cached(time.Minute, Version("2"))(h), "/")
		assert.EqualValues(t, 2, h.calls.Load(), "a new version orphans the old entries")
	})
}

func TestCachedUserKey(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello %s", r.Header.Get("Authorization"))
		}}
		user := func(r *http.Request) string { return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") }
		ch := e.c.Cached(time.Minute, UserKey(user))(h)
		alice := get(ch, "/me", "Authorization", "Bearer alice").Body.String()
		bob := get(ch, "/me", "Authorization", "Bearer bob").Body.String()
		assert.Equal(t, "hello Bearer alice #1", alice)
		assert.Equal(t, "hello Bearer bob #2", bob)
		assert.Equal(t, alice, get(ch, "/me", "Authorization", "Bearer alice").Body.String())
		assert.Equal(t, bob, get(ch, "/me", "Authorization", "Bearer bob").Body.String())
		assert.EqualValues(t, 2, h.calls.Load())
		// A user named like another part of the key stays apart.
		get(ch, "/me", "Authorization", "Bearer alice#v=1")
		assert.EqualValues(t, 3, h.calls.Load())
		// With Authorization but no user: not cached.
		get(ch, "/me", "Authorization", "Bearer ")
		get(ch, "/me", "Authorization", "Bearer ")
		assert.EqualValues(t, 5, h.calls.Load())
	})
}

func TestCachedVary(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language, Accept-Encoding")
			fmt.Fprintf(w, "lang=%s", r.Header.Get("Accept-Language"))
		}}
		ch := e.c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)
		en := get(ch, "/v", "Accept-Language", "en", "Accept-Encoding", "gzip, br")
		fr := get(ch, "/v", "Accept-Language", "fr", "Accept-Encoding", "gzip, br")
		assert.Equal(t, "lang=en #1", en.Body.String())
		assert.Equal(t, "lang=fr #2", fr.Body.String(), "Flask serves the English page to the French reader")
		w := get(ch, "/v", "Accept-Language", "en", "Accept-Encoding", "br,gzip")
		assert.Equal(t, "lang=en #1", w.Body.String(), "equivalent Accept-Encoding shares the variant")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "Accept-Language, Accept-Encoding", w.Header().Get("Vary"))
		assert.Equal(t, "lang=fr #2", get(ch, "/v", "Accept-Language", "fr", "Accept-Encoding", "gzip,br").Body.String())
		assert.Equal(t, "lang= #3", get(ch, "/v").Body.String(), "no header is a variant of its own")
		assert.EqualValues(t, 3, h.calls.Load())

		// InvalidatePath reaches every variant.
		require.NoError(t, e.c.InvalidatePath(t.Context(), "/v"))
		get(ch, "/v", "Accept-Language", "en", "Accept-Encoding", "gzip, br")
		get(ch, "/v", "Accept-Language", "fr", "Accept-Encoding", "gzip, br")
		assert.EqualValues(t, 5, h.calls.Load())
	})
}

func TestCachedVaryChanges(t *testing.T) {
	// The Vary of a route changes (deploy): the newest response's Vary wins
	// and no response is served to a request it does not fit.
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		varyOn := "Accept-Language"
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
			if varyOn != "" {
				w.Header().Set("Vary", varyOn)
			}
			fmt.Fprintf(w, "lang=%s tenant=%s", r.Header.Get("Accept-Language"), r.Header.Get("X-Tenant"))
		}}
		ch := e.c.Cached(time.Minute, RefreshIf(func(_ context.Context, r *http.Request) bool { return r.Header.Get("X-Refresh") != "" }))(h)
		get(ch, "/", "Accept-Language", "en", "X-Tenant", "a")
		varyOn = "X-Tenant"
		get(ch, "/", "Accept-Language", "en", "X-Tenant", "a", "X-Refresh", "1")
		w := get(ch, "/", "Accept-Language", "en", "X-Tenant", "b")
		assert.Equal(t, "lang=en tenant=b #3", w.Body.String())
		varyOn = ""
		get(ch, "/", "X-Refresh", "1")
		assert.Equal(t, "lang= tenant= #4", get(ch, "/", "Accept-Language", "de").Body.String())
	})
}

func TestCachedTagsAndInvalidatePath(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		products := &counter{body: "products"}
		other := &counter{body: "other"}
		mux := http.NewServeMux()
		mux.Handle("GET /products", e.c.Cached(time.Minute, Tags("products"))(products))
		mux.Handle("GET /products/{id}", e.c.Cached(time.Minute, Tags("products"))(products))
		mux.Handle("GET /other", e.c.Cached(time.Minute)(other))
		for _, p := range []string{"/products?page=1", "/products?page=2", "/products/7", "/other"} {
			get(mux, p)
			get(mux, p)
		}
		assert.EqualValues(t, 3, products.calls.Load())
		assert.EqualValues(t, 1, other.calls.Load())

		// Flask-Caching cannot delete a query-string view (its key is a hash
		// the application cannot rebuild): here the path reaches every query.
		require.NoError(t, e.c.InvalidatePath(t.Context(), "/products"))
		get(mux, "/products?page=1")
		get(mux, "/products?page=2")
		get(mux, "/products/7")
		assert.EqualValues(t, 5, products.calls.Load(), "both query variants gone, /products/7 kept")

		require.NoError(t, e.c.InvalidateTags(t.Context(), "products"))
		get(mux, "/products?page=1")
		get(mux, "/products/7")
		get(mux, "/other")
		assert.EqualValues(t, 7, products.calls.Load())
		assert.EqualValues(t, 1, other.calls.Load(), "an untagged route is kept")
	})
}

func TestViewKey(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{}
		ch := e.c.Cached(time.Minute, Version("3"))(h)
		get(ch, "/a?y=2&x=1")
		r, _ := http.NewRequest(http.MethodGet, "http://example.com/a?x=1&y=2", nil)
		key, err := e.c.ViewKey(r, Version("3"))
		require.NoError(t, err)
		assert.Equal(t, "v/http://example.com#view//a?x=1&y=2#v=3", key)
		require.NoError(t, e.c.Backend().Delete(t.Context(), key))
		get(ch, "/a?y=2&x=1")
		assert.EqualValues(t, 2, h.calls.Load(), "deleting the key drops the entry")

		_, err = e.c.ViewKey(r, KeyFormat("%d"))
		assert.Error(t, err)
	})
}
