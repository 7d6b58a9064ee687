package main

// seams.go: stand-ins for the library pieces that have not landed on main
// yet. Each has the shape of the real piece, so that wiring the real one in
// is a change to this file alone.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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
// path and canonical query string, tagged with tags(r), with X-Cache:
// HIT/MISS. Backend errors fail open.
func cachedView(c *caching.Cache, ttl time.Duration, tags func(*http.Request) []string) func(http.Handler) http.Handler {
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
				_ = caching.SetAs(r.Context(), c, key, cachedResponse{Status: rec.status, Header: rec.header, Body: rec.body}, ttl, caching.Tags(tags(r)...))
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

// --- timing (timing/, branch timingpool) ---

// timed sets X-Response-Time on every response and logs requests slower
// than slow.
func timed(log *slog.Logger, slow time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			tw := &timingWriter{ResponseWriter: w, start: start}
			next.ServeHTTP(tw, r)
			if d := time.Since(start); d > slow {
				log.Warn("slow request", "method", r.Method, "path", r.URL.Path, "duration", d)
			}
		})
	}
}

type timingWriter struct {
	http.ResponseWriter
	start   time.Time
	started bool
}

func (w *timingWriter) WriteHeader(status int) {
	if !w.started {
		w.started = true
		w.Header().Set("X-Response-Time", strconv.FormatFloat(float64(time.Since(w.start).Microseconds())/1000, 'f', 3, 64)+"ms")
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *timingWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *timingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// --- connection pool (pool/, branch timingpool) ---

// Pool settings of the service: 10 permanent connections, up to 20 more
// under load, and a log line for every query slower than slowQuery.
const (
	poolSize     = 10
	poolOverflow = 20
	slowQuery    = 500 * time.Millisecond
)

// database is the pool the Store runs on.
type database struct {
	*sql.DB
}

// openPool opens a pool over connector dc with the service's settings.
func openPool(dc driver.Connector, log *slog.Logger) (*database, error) {
	db := sql.OpenDB(dc)
	db.SetMaxIdleConns(poolSize)
	db.SetMaxOpenConns(poolSize + poolOverflow)
	return &database{DB: db}, nil
}

// statsHandler serves the pool's statistics and extra (name -> value
// function) as one JSON object, to loopback clients only.
func (db *database) statsHandler(extra map[string]func() any) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			writeError(w, http.StatusForbidden, "pool stats are served to loopback clients only")
			return
		}
		out := map[string]any{"sql": db.Stats()}
		for k, fn := range extra {
			out[k] = fn()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}), nil
}

// --- backends (backend/filesystem, backend/redis, backend/memcached) ---

// errBackendNotWired reports a backend this build of the example does not
// have yet.
var errBackendNotWired = errors.New("backend not wired into this example yet")

func errNotLanded(name string) error {
	return fmt.Errorf("CACHE_URL: %s: %w", name, errBackendNotWired)
}

func openFile(dir string) (*cacheBackend, error) { return nil, errNotLanded("filesystem") }

func openMemcached(addrs []string, namespace string) (*cacheBackend, error) {
	return nil, errNotLanded("memcached")
}
