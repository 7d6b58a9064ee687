package caching

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/timing"
	"github.com/stretchr/testify/assert"
)

// TestVersionsDownRunCountsAsBypass: a run whose lookup worked but whose
// read of the tag versions failed stores nothing and tells its client
// BYPASS; it counts as a bypass in Stats, and reports bypass to timing's
// Server-Timing, as its waiters do, not as a miss.
func TestVersionsDownRunCountsAsBypass(t *testing.T) {
	for mode, opts := range map[string][]ViewOption{"default": nil, "shared": {SharedCache()}} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: versionsDown{&remote{Backend: newSimple(t, nil)}}})
				defer c.Close()
				h := &counter{body: "report", fn: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Cache-Control", "max-age=60")
				}}
				view := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
					c.Cached(time.Minute, append(opts, CacheStatusHeader("X-Cache"))...)(h))
				w := httptest.NewRecorder()
				view.ServeHTTP(w, httptest.NewRequest("GET", "/report", nil))
				assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"))
				st := w.Header().Get("Server-Timing")
				assert.True(t, strings.Contains(st, "cache;desc=bypass"), "Server-Timing %q", st)
				s := c.Stats()
				assert.Equal(t, int64(1), s.Bypasses, "reported BYPASS, counted: misses=%d bypasses=%d", s.Misses, s.Bypasses)
				assert.Equal(t, int64(0), s.Misses)
			})
		})
	}
}
