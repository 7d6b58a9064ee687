package routers_test

// The response cache is a func(http.Handler) http.Handler: these tests run
// it under the routers Go services use, with their own path patterns.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"

	"github.com/go-caching/caching"
)

type counted struct{ runs atomic.Int64 }

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.runs.Add(1)
	_, _ = io.WriteString(w, "product "+r.URL.Path)
}

func get(t *testing.T, h http.Handler, target string) (string, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d", target, w.Code)
	}
	return w.Body.String(), w.Header().Get("X-Cache")
}

func checkRouter(t *testing.T, h http.Handler, handler *counted, c *caching.Cache) {
	t.Helper()
	steps := []struct{ target, cache string }{
		{"/products/1?b=2&a=1", "MISS"},
		{"/products/1?a=1&b=2", "HIT"}, // canonical query string
		{"/products/2", "MISS"},
		{"/products/1?a=1&b=2", "HIT"},
	}
	for _, s := range steps {
		body, xc := get(t, h, s.target)
		if xc != s.cache || body == "" {
			t.Fatalf("GET %s: X-Cache %q body %q, want %s", s.target, xc, body, s.cache)
		}
	}
	if handler.runs.Load() != 2 {
		t.Fatalf("handler ran %d times, want 2", handler.runs.Load())
	}
	if err := c.InvalidatePath(t.Context(), "/products/1"); err != nil {
		t.Fatal(err)
	}
	if _, xc := get(t, h, "/products/1?a=1&b=2"); xc != "MISS" {
		t.Fatalf("after InvalidatePath: X-Cache %q, want MISS", xc)
	}
}

func TestCachedUnderChi(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	handler := &counted{}
	r := chi.NewRouter()
	r.Use(c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache"))) // chi middleware: the whole router
	r.Get("/products/{id}", handler.ServeHTTP)
	checkRouter(t, r, handler, c)
}

func TestCachedUnderGorillaMux(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	handler := &counted{}
	r := mux.NewRouter()
	r.Handle("/products/{id}", c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache"))(handler)).Methods("GET")
	checkRouter(t, r, handler, c)
}

func TestCachedMuxWithServeMuxPatterns(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	handler := &counted{}
	m := http.NewServeMux()
	m.Handle("GET /products/{id}", handler)
	checkRouter(t, c.CachedMux(m, time.Minute, caching.CacheStatusHeader("X-Cache")), handler, c)
}
