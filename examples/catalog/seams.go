package main

// seams.go: stand-ins for the library pieces that have not landed on main
// yet. Each has the shape of the real piece, so that wiring the real one in
// is a change to this file alone.

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-caching/caching"
)

// --- response cache (root package Cached, branch httpcache) ---

// cachedResponse is what the stand-in response cache stores.
type cachedResponse struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// cachedView caches the 200 responses of a GET route for ttl, keyed by the
// path and canonical query string, tagged with tags and its path, with
// X-Cache: HIT/MISS. Backend errors fail open.
func cachedView(c *caching.Cache, ttl time.Duration, tags ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				next.ServeHTTP(w, r)
				return
			}
			key := "view:" + r.URL.Path + "?" + caching.CanonicalQuery(r.URL.RawQuery, caching.QueryKeyOptions{})
			if resp, err := caching.GetAs[cachedResponse](r.Context(), c, key); err == nil {
				for k, v := range resp.Header {
					w.Header()[k] = v
				}
				w.Header().Set("X-Cache", "HIT")
				w.WriteHeader(resp.Status)
				_, _ = w.Write(resp.Body)
				return
			}
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			next.ServeHTTP(rec, r)
			if rec.status == http.StatusOK {
				_ = caching.SetAs(r.Context(), c, key, cachedResponse{Status: rec.status, Header: rec.header, Body: rec.body}, ttl, caching.Tags(append(tags, "path:"+r.URL.Path)...))
			}
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Set("X-Cache", "MISS")
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body)
		})
	}
}

// invalidatePath makes every cached response of each path stale.
func invalidatePath(ctx context.Context, c *caching.Cache, paths ...string) error {
	tags := make([]string, len(paths))
	for i, p := range paths {
		tags[i] = "path:" + p
	}
	return c.InvalidateTags(ctx, tags...)
}

// recorder buffers a response.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }

// --- Memoize (root package, branch flight) ---

// memoized is a function of one comparable argument whose results are kept
// in the Cache for ttl.
type memoized[A comparable, R any] struct {
	c    *caching.Cache
	name string
	ttl  time.Duration
	fn   func(context.Context, A) (R, error)
}

func memoize[A comparable, R any](c *caching.Cache, name string, ttl time.Duration, fn func(context.Context, A) (R, error)) *memoized[A, R] {
	return &memoized[A, R]{c: c, name: name, ttl: ttl, fn: fn}
}

func (m *memoized[A, R]) key(a A) string { return fmt.Sprintf("memo:%s:%+v", m.name, a) }

// Get returns the cached result for a, or calls the function and caches it.
func (m *memoized[A, R]) Get(ctx context.Context, a A) (R, error) {
	return caching.GetOrSet(ctx, m.c, m.key(a), m.ttl, func(ctx context.Context) (R, error) { return m.fn(ctx, a) })
}

// Forget removes the cached result for a.
func (m *memoized[A, R]) Forget(ctx context.Context, a A) error { return m.c.Delete(ctx, m.key(a)) }

// --- compression (compress/, branch compress) ---

// compressionWired tells the tests whether responses are compressed.
const compressionWired = false

// compression is the compression middleware; until compress/ lands it
// passes responses through unchanged.
func compression(next http.Handler) http.Handler { return next }
