package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/timing"
)

// TestServerTimingReportsEncoding checks that compress reports the encoding
// it chose through timing's Server-Timing header when both are in the chain.
func TestServerTimingReportsEncoding(t *testing.T) {
	body := strings.Repeat(`{"name":"lamp","price":19.99},`, 100)
	h := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
		compress.Middleware(compress.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		})))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Encoding", "gzip, zstd")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got := w.Header().Get("Content-Encoding"); got != "zstd" {
		t.Fatalf("Content-Encoding = %q, want zstd", got)
	}
	if st := w.Header().Get("Server-Timing"); !strings.Contains(st, "compress;desc=zstd") {
		t.Fatalf("Server-Timing = %q, want it to name compress;desc=zstd", st)
	}
}

// TestRouteKeptWhenIfNoneMatchRewritten: timing outside compress outside a
// mux (README's order). A client sending If-None-Match: W/"..." made compress
// copy the request, the mux set Pattern on the copy, and timing's
// Report.Route was "" (SlowRoutes and metric labels lost).
func TestRouteKeptWhenIfNoneMatchRewritten(t *testing.T) {
	var mu sync.Mutex
	var routes []string
	mw := timing.Must(timing.Options{Observe: func(rep timing.Report) {
		mu.Lock()
		routes = append(routes, rep.Route)
		mu.Unlock()
	}})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Repeat("x", 2000))
	})
	h := mw(compress.Must(compress.Options{}).Handler(mux))

	for _, inm := range []string{"", `W/"old"`} {
		r := httptest.NewRequest("GET", "/items/42", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(routes) != 2 {
		t.Fatalf("Observe called %d times, want 2", len(routes))
	}
	for i, rt := range routes {
		if rt != "GET /items/{id}" {
			t.Errorf("request %d: Report.Route = %q, want %q", i, rt, "GET /items/{id}")
		}
	}
}
