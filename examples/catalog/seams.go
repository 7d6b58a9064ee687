package main

// seams.go: stand-ins for the library pieces that have not landed on main
// yet. Each has the shape of the real piece, so that wiring the real one in
// is a change to this file alone.

import (
	"context"
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

// --- compression (compress/, branch compress) ---

// compressionWired tells the tests whether responses are compressed.
const compressionWired = false

// compression is the compression middleware; until compress/ lands it
// passes responses through unchanged.
func compression(next http.Handler) http.Handler { return next }
