package caching_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/compress"
)

// visit sends a GET to h and prints what the cache did and the body.
func visit(h http.Handler, target string, header ...string) {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Printf("%s %s: %s\n", target, w.Header().Get("X-Cache"), w.Body.String())
}

// A cached route on an http.ServeMux: the second request is a hit.
func ExampleCache_Cached() {
	c := caching.Must(nil)
	defer c.Close()

	calls := 0
	products := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"call":%d}`, calls)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /products", c.Cached(2*time.Minute, caching.CacheStatusHeader("X-Cache"))(products))

	visit(mux, "/products")
	visit(mux, "/products")
	// Output:
	// /products MISS: {"call":1}
	// /products HIT: {"call":1}
}

// The query string is part of the key, in canonical form: the order of the
// parameters does not matter, their values and repetitions do.
func ExampleCache_Cached_queryString() {
	c := caching.Must(nil)
	defer c.Close()

	calls := 0
	search := c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache"),
		caching.QueryString(caching.QueryKeyOptions{Ignore: []string{"utm_*"}}))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			fmt.Fprintf(w, "q=%s page=%s (call %d)", r.URL.Query().Get("q"), r.URL.Query().Get("page"), calls)
		}))

	visit(search, "/search?q=go&page=2")
	visit(search, "/search?page=2&q=go&utm_source=mail")
	visit(search, "/search?q=go&page=3")
	// Output:
	// /search?q=go&page=2 MISS: q=go page=2 (call 1)
	// /search?page=2&q=go&utm_source=mail HIT: q=go page=2 (call 1)
	// /search?q=go&page=3 MISS: q=go page=3 (call 2)
}

// Responses to requests with Authorization are cached only when UserKey
// says whose they are; each user then has entries of their own. A hit is
// served before the handler runs, so the UserKey function verifies the
// credentials itself (or reads the user an authentication middleware
// outside the view set) and returns the user's id, not the credential:
// keys are stored in the backend in clear.
func ExampleUserKey() {
	c := caching.Must(nil)
	defer c.Close()

	// The sessions known to be valid: in a real service, a session store or
	// a token verifier (signature, expiry, revocation).
	sessions := map[string]string{"tok-3f9a": "alice", "tok-81c2": "bob"}
	userID := func(r *http.Request) string {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return ""
		}
		return sessions[token] // "": an unknown token, whose request is not cached
	}
	calls := 0
	me := c.Cached(time.Minute, caching.UserKey(userID), caching.CacheStatusHeader("X-Cache"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			id := userID(r)
			if id == "" {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, "unauthorized")
				return
			}
			fmt.Fprintf(w, "profile of %s (call %d)", id, calls)
		}))

	visit(me, "/me", "Authorization", "Bearer tok-3f9a")
	visit(me, "/me", "Authorization", "Bearer tok-81c2")
	visit(me, "/me", "Authorization", "Bearer tok-3f9a")
	visit(me, "/me", "Authorization", "Bearer forged")
	// Output:
	// /me MISS: profile of alice (call 1)
	// /me MISS: profile of bob (call 2)
	// /me HIT: profile of alice (call 1)
	// /me BYPASS: unauthorized
}

// Routes tagged "products" are invalidated together, every query string of
// them included, when the data changes; InvalidatePath drops one path.
func ExampleCache_Cached_tags() {
	c := caching.Must(nil)
	defer c.Close()
	ctx := context.Background()

	calls := 0
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		fmt.Fprintf(w, "call %d", calls)
	})
	mux := http.NewServeMux()
	cached := c.Cached(time.Hour, caching.Tags("products"), caching.CacheStatusHeader("X-Cache"))
	mux.Handle("GET /products", cached(list))
	mux.Handle("GET /products/{id}", cached(list))

	visit(mux, "/products?page=1")
	visit(mux, "/products/7")
	_ = c.InvalidatePath(ctx, "/products") // every query string of /products
	visit(mux, "/products?page=1")
	visit(mux, "/products/7")
	_ = c.InvalidateTags(ctx, "products") // every route tagged "products"
	visit(mux, "/products/7")
	// Output:
	// /products?page=1 MISS: call 1
	// /products/7 MISS: call 2
	// /products?page=1 MISS: call 3
	// /products/7 HIT: call 2
	// /products/7 MISS: call 4
}

// A whole mux behind one cache, with a TTL per route pattern.
func ExampleCache_CachedMux() {
	c := caching.Must(nil)
	defer c.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "product %s", r.PathValue("id"))
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "your cart")
	})
	h := c.CachedMux(mux, 5*time.Minute,
		caching.RouteTTL("GET /products/{id}", time.Hour),
		caching.SkipRoutes("GET /cart"),
		caching.CacheStatusHeader("X-Cache"))

	visit(h, "/products/7")
	visit(h, "/products/7")
	visit(h, "/cart")
	// Output:
	// /products/7 MISS: product 7
	// /products/7 HIT: product 7
	// /cart BYPASS: your cart
}

// With compression, put the response cache outside the compressor: it keeps
// one compressed variant per Accept-Encoding (the response says Vary:
// Accept-Encoding), and a hit is served compressed without compressing again.
func ExampleCache_Cached_compress() {
	c := caching.Must(nil)
	defer c.Close()

	body := strings.Repeat(`{"id":1,"name":"desk lamp"},`, 50)
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	})
	h := c.Cached(5*time.Minute, caching.CacheStatusHeader("X-Cache"))(compress.Middleware(compress.Options{})(list))

	for _, enc := range []string{"gzip", "zstd", "gzip"} {
		r := httptest.NewRequest(http.MethodGet, "/products", nil)
		r.Header.Set("Accept-Encoding", enc)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(enc, w.Header().Get("Content-Encoding"), w.Header().Get("X-Cache"))
	}
	// Output:
	// gzip gzip MISS
	// zstd zstd MISS
	// gzip gzip HIT
}

// Analytics cookies neither sign a client in nor change the page; named by
// InertCookies, they no longer keep a stale page from being served at once
// while a background refresh, run without the Cookie field, replaces it. A
// request with any other cookie (a session) still runs the handler itself.
func ExampleInertCookies() {
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := caching.Must(&caching.Options{Clock: clock})
	defer c.Close()

	refreshed := make(chan string, 1) // the Cookie field of a background run
	page := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page for Cookie %q", r.Header.Get("Cookie"))
		if r.URL.Path == "/home" {
			select {
			case refreshed <- r.Header.Get("Cookie"):
			default:
			}
		}
	}
	h := c.Cached(time.Minute, caching.StaleWhileRevalidate(time.Hour),
		caching.InertCookies("_ga", "_ga_*"), caching.CacheStatusHeader("X-Cache"))(http.HandlerFunc(page))

	visit(h, "/home")
	visit(h, "/news")
	<-refreshed // the first run of /home

	mu.Lock()
	now = now.Add(2 * time.Minute) // both pages are stale
	mu.Unlock()
	visit(h, "/home", "Cookie", "_ga=GA1.1.42; _ga_ABC123=GS1.1")
	fmt.Printf("refreshed in the background with Cookie %q\n", <-refreshed)
	visit(h, "/news", "Cookie", "_ga=GA1.1.42; session=s3cr3t")
	// Output:
	// /home MISS: page for Cookie ""
	// /news MISS: page for Cookie ""
	// /home STALE: page for Cookie ""
	// refreshed in the background with Cookie ""
	// /news MISS: page for Cookie "_ga=GA1.1.42; session=s3cr3t"
}

// CollapseTimeout bounds how long a request waits for another request's
// run of its key. Here the first request's handler is slow: the second
// waits 50 ms for it, then takes the run over: it runs the handler itself
// (a MISS), and its response is stored, and answers the third. The first
// one's response, made before, goes to its client only.
func ExampleCollapseTimeout() {
	c := caching.Must(nil)
	defer c.Close()

	var calls int32
	var mu sync.Mutex
	started, release := make(chan struct{}), make(chan struct{})
	h := c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache"), caching.CollapseTimeout(50*time.Millisecond))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			if n == 1 {
				close(started)
				<-release // a slow origin, for this request only
			}
			fmt.Fprintf(w, "call %d", n)
		}))

	first := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(first, httptest.NewRequest(http.MethodGet, "/report", nil))
		close(done)
	}()
	<-started
	visit(h, "/report") // gives up waiting after 50 ms, and takes over
	close(release)
	<-done
	fmt.Printf("first %s: %s\n", first.Header().Get("X-Cache"), first.Body.String())
	visit(h, "/report")
	fmt.Println("gave up:", c.Stats().CollapseTimeouts)
	// Output:
	// /report MISS: call 2
	// first MISS: call 1
	// /report HIT: call 2
	// gave up: 1
}
