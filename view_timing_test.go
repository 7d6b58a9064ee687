package caching

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching/timing"
)

// TestCachedReportsServerTiming checks that the response cache tells
// timing's Server-Timing header what it did: miss, then hit.
func TestCachedReportsServerTiming(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
		c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("hello"))
		})))
	for _, want := range []string{"cache;desc=miss", "cache;desc=hit"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
		st := w.Header().Get("Server-Timing")
		if !strings.Contains(st, want) || strings.Count(st, "cache;") != 1 {
			t.Fatalf("Server-Timing = %q, want exactly one cache metric, %s", st, want)
		}
	}
}
