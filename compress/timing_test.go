package compress_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
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
