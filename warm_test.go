package caching

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWarm: Warm stores the responses of its targets as clients' requests
// would, on every store: the next client request for each is a hit, keyed
// by scheme, host, canonical query string, tags and Vary variant as the
// view keys a client's.
func TestWarm(t *testing.T) {
	everyBackend(t, Options{}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		var calls atomic.Int64
		mux := http.NewServeMux()
		mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			fmt.Fprintf(w, "products %s %s #%d", r.URL.Query().Get("page"), r.Header.Get("Accept-Language"), calls.Add(1))
		})
		h := c.CachedMux(mux, time.Minute, Tags("products"), CacheStatusHeader("X-Cache"))

		rep := c.Warm(ctx, h,
			WarmTarget{URL: "https://shop.example/products?sort=asc&page=2"},
			WarmTarget{URL: "https://shop.example/products?page=3", Header: http.Header{"Accept-Language": {"fr"}}},
		)
		require.Equal(t, 2, rep.Stored, "%+v", rep.Results)
		assert.Zero(t, rep.Refused+rep.Failed)
		assert.Equal(t, http.StatusOK, rep.Results[0].Status)
		assert.Equal(t, "https://shop.example/products?page=3", rep.Results[1].URL)
		assert.Zero(t, c.Stats().Misses, "Warm's requests are not counted")

		w := get(h, "https://shop.example/products?page=2&sort=asc")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the canonical query string")
		assert.Equal(t, "products 2  #1", w.Body.String())
		w = get(h, "https://shop.example/products?page=3", "Accept-Language", "fr")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the variant warmed")
		assert.Equal(t, "MISS", get(h, "https://shop.example/products?page=3", "Accept-Language", "de").Header().Get("X-Cache"))
		assert.Equal(t, "MISS", get(h, "http://shop.example/products?page=2&sort=asc").Header().Get("X-Cache"), "another scheme")
		assert.Equal(t, "MISS", get(h, "https://other.example/products?page=2&sort=asc").Header().Get("X-Cache"), "another host")

		require.NoError(t, c.InvalidateTags(ctx, "products"))
		assert.Equal(t, "MISS", get(h, "https://shop.example/products?page=2&sort=asc").Header().Get("X-Cache"), "warmed under the view's tags")

		before := calls.Load()
		rep = c.Warm(ctx, h, WarmTarget{URL: "https://shop.example/products?page=2&sort=asc"})
		require.Equal(t, 1, rep.Stored)
		assert.Equal(t, before+1, calls.Load(), "a fresh entry is replaced: the handler runs")
		w = get(h, "https://shop.example/products?page=2&sort=asc")
		assert.Equal(t, fmt.Sprintf("products 2  #%d", before+1), w.Body.String())
	})
}

// TestWarmReports: each target is stored, refused with the view's reason,
// or failed with an error.
func TestWarmReports(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	other := Must(nil)
	defer other.Close()
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }
	mux.HandleFunc("GET /ok", ok)
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", 500) })
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Set-Cookie", "a=b")
		fmt.Fprint(w, "x")
	})
	mux.HandleFunc("GET /private", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "private")
		fmt.Fprint(w, "x")
	})
	mux.HandleFunc("GET /skip", ok)
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.Handle("GET /bypass", c.Cached(time.Minute, BypassIf(func(context.Context, *http.Request) bool { return true }))(http.HandlerFunc(ok)))
	mux.Handle("GET /filtered", c.Cached(time.Minute, StoreIf(func(*Response) bool { return false }))(http.HandlerFunc(ok)))
	mux.Handle("GET /other", other.Cached(time.Minute)(http.HandlerFunc(ok)))
	root := http.NewServeMux()
	root.Handle("GET /bypass", mux)
	root.Handle("GET /filtered", mux)
	root.Handle("GET /other", mux)
	root.Handle("/", c.CachedMux(mux, time.Minute, SkipRoutes("GET /skip")))

	base := "http://shop.example"
	targets := []struct {
		path, reason, err string
		status            int
	}{
		{path: "/ok", status: 200},
		{path: "/error", reason: "status", status: 500},
		{path: "/cookie", reason: "set-cookie", status: 200},
		{path: "/private", reason: "private", status: 200},
		{path: "/skip", reason: "skip-route"},
		{path: "/bypass", reason: "bypass"},
		{path: "/filtered", reason: "filter", status: 200},
		{path: "/panic", err: "handler panicked: boom"},
		{path: "/nowhere", err: "no cached view"},
		{path: "/other", err: "no cached view"},
		{path: "relative", err: "absolute"},
		{path: "#frag", err: "fragment"},
	}
	var ws []WarmTarget
	for _, tc := range targets {
		u := base + tc.path
		if tc.path == "relative" {
			u = "/ok"
		}
		ws = append(ws, WarmTarget{URL: u})
	}
	ws = append(ws, WarmTarget{URL: base + "/ok", Header: http.Header{"Authorization": {"Bearer x"}}})
	rep := c.Warm(t.Context(), root, ws...)
	require.Len(t, rep.Results, len(targets)+1)
	for i, tc := range targets {
		res := rep.Results[i]
		t.Run(tc.path, func(t *testing.T) {
			assert.Equal(t, tc.status, res.Status)
			assert.Equal(t, tc.reason, res.Reason)
			switch {
			case tc.err != "":
				require.Error(t, res.Err)
				assert.Contains(t, res.Err.Error(), tc.err)
				assert.False(t, res.Stored)
			case tc.reason == "":
				assert.True(t, res.Stored)
				assert.NoError(t, res.Err)
			default:
				assert.False(t, res.Stored)
				assert.NoError(t, res.Err)
			}
		})
	}
	assert.Equal(t, "authorization", rep.Results[len(targets)].Reason, "no UserKey: not stored")
	assert.Equal(t, 1, rep.Stored)
	assert.Equal(t, 7, rep.Refused)
	assert.Equal(t, 5, rep.Failed)
	st := c.Stats()
	assert.Zero(t, st.Misses+st.Bypasses+st.Hits, "Warm's requests are not counted")
}

// TestWarmEndsWithContextAndClose: the targets left when ctx ends, or when
// the Cache is closed, fail with the context's error, and the handler's
// request sees it.
func TestWarmEndsWithContextAndClose(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var seen error
			h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if how == "cancel" {
					cancel()
				} else {
					require.NoError(t, c.Close())
				}
				<-r.Context().Done()
				seen = r.Context().Err()
				fmt.Fprint(w, "late")
			}))
			rep := c.Warm(ctx, h, WarmTarget{URL: "http://a.example/1"}, WarmTarget{URL: "http://a.example/2"})
			assert.ErrorIs(t, seen, context.Canceled, "the handler sees the end")
			assert.Equal(t, 2, rep.Failed)
			for _, res := range rep.Results {
				assert.True(t, errors.Is(res.Err, context.Canceled), "%v", res.Err)
			}
		})
	}
}

// TestWarmURLWithoutPath: a target without a path ("https://shop.example")
// is the request a client sends for it, "/": Warm stored it under a key of
// the empty path, which no client's request reached.
func TestWarmURLWithoutPath(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	home := &counter{body: "home"}
	h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(home)
	rep := c.Warm(t.Context(), h, WarmTarget{URL: "https://shop.example"})
	require.Equal(t, 1, rep.Stored, "%+v", rep.Results)
	w := get(h, "https://shop.example/")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, "home #1", w.Body.String())
}

// TestWarmHeaderNamesAsAServerReadsThem: a target's Header written as a
// map literal in lower case reached the handler under that spelling, where
// no server request has it (net/http makes every field name canonical):
// the handler's Get missed it and rendered the default page, which the
// view stored under a variant of that spelling, so Warm reported stored a
// variant the next French request missed. Names are now canonical, lines of
// names that differ in case merged; a name that is not a field name fails
// the target.
func TestWarmHeaderNamesAsAServerReadsThem(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "products in %q", r.Header.Values("Accept-Language"))
	})
	h := c.CachedMux(mux, time.Minute, CacheStatusHeader("X-Cache"))
	rep := c.Warm(t.Context(), h,
		WarmTarget{URL: "https://shop.example/products", Header: http.Header{"accept-language": {"fr"}}},
		WarmTarget{URL: "https://shop.example/products", Header: http.Header{"Accept-Language": {"de"}, "ACCEPT-LANGUAGE": {"en"}}},
		WarmTarget{URL: "https://shop.example/products", Header: http.Header{"Accept Language": {"it"}}},
	)
	require.Equal(t, 2, rep.Stored, "%+v", rep.Results)
	require.Error(t, rep.Results[2].Err, "a name that is not a field name")
	w := get(h, "https://shop.example/products", "Accept-Language", "fr")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, `products in ["fr"]`, w.Body.String())
	r := httptest.NewRequest(http.MethodGet, "https://shop.example/products", nil)
	r.Header["Accept-Language"] = []string{"en", "de"}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "both lines, in the order of their names")
	assert.Equal(t, `products in ["en" "de"]`, w.Body.String())
}
