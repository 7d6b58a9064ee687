package timing_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-caching/caching/timing"
)

// benchWriter is a minimal http.ResponseWriter whose header map is reused
// (cleared) between requests, so that a benchmark measures the middleware
// rather than net/http.
type benchWriter struct{ h http.Header }

func (b *benchWriter) Header() http.Header         { return b.h }
func (b *benchWriter) WriteHeader(int)             {}
func (b *benchWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkMiddleware measures one request through the middleware: not
// admitted by Expose (the common path), with a handler that sets a few
// ordinary fields or a Server-Timing field of its own, and admitted.
func BenchmarkMiddleware(b *testing.B) {
	admit := func(*http.Request) bool { return true }
	plain := func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }
	fields := func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Cache-Control"] = []string{"max-age=60"}
		h["Etag"] = []string{`"x"`}
		h["Vary"] = []string{"Accept-Encoding"}
		_, _ = io.WriteString(w, "ok")
	}
	own := func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Server-Timing"] = []string{"upstream;dur=3"}
		_, _ = io.WriteString(w, "ok")
	}
	for _, bc := range []struct {
		name    string
		expose  func(*http.Request) bool
		handler http.HandlerFunc
	}{
		{"hidden", nil, plain},
		{"hidden/fields", nil, fields},
		{"hidden/handler-server-timing", nil, own},
		{"exposed", admit, plain},
		{"exposed/handler-server-timing", admit, own},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := timing.Must(timing.Options{Expose: bc.expose})(bc.handler)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			w := &benchWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}
