package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// cacheMetrics returns the cache metrics of a Server-Timing header.
func cacheMetrics(st string) []string {
	var out []string
	for _, m := range strings.Split(st, ",") {
		if m = strings.TrimSpace(m); strings.HasPrefix(m, "cache;") {
			out = append(out, m)
		}
	}
	return out
}

// TestRunReportsCacheOnce: a request whose run fails and is answered with
// the stale entry (a 5xx or a panic, StaleIfError; GET and HEAD), or whose
// revalidation the origin answers 304 (SharedCache), told timing "miss"
// as its run began, then what answered it: two cache metrics for one
// request. It reports what answered it, once, as its status header does.
func TestRunReportsCacheOnce(t *testing.T) {
	cases := []struct {
		name, method string
		shared       bool
		fail         func(w http.ResponseWriter)
		want         string
	}{
		{"5xx stale GET", http.MethodGet, false, func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }, "stale"},
		{"5xx stale HEAD", http.MethodHead, false, func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }, "stale"},
		{"panic stale GET", http.MethodGet, false, func(http.ResponseWriter) { panic("broke") }, "stale"},
		{"panic stale HEAD", http.MethodHead, false, func(http.ResponseWriter) { panic("broke") }, "stale"},
		{"304 revalidated GET shared", http.MethodGet, true, func(w http.ResponseWriter) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		}, "hit"},
		{"200 GET", http.MethodGet, false, func(w http.ResponseWriter) {
			w.Header().Set("Cache-Control", "max-age=10")
			_, _ = w.Write([]byte("new"))
		}, "miss"},
		{"200 GET shared", http.MethodGet, true, func(w http.ResponseWriter) {
			w.Header().Set("Cache-Control", "max-age=10")
			_, _ = w.Write([]byte("new"))
		}, "miss"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if runs.Add(1) > 1 {
						tc.fail(w)
						return
					}
					w.Header().Set("Cache-Control", "max-age=10")
					w.Header().Set("ETag", `"v1"`)
					_, _ = w.Write([]byte("stored"))
				})
				opts := []ViewOption{StaleIfError(time.Minute), CacheStatusHeader("X-Cache")}
				if tc.shared {
					opts = append(opts, SharedCache())
				}
				h := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
					c.Cached(10*time.Second, opts...)(next))
				require.Equal(t, "stored", get(h, "/page").Body.String())
				time.Sleep(15 * time.Second) // stale: the next request runs the handler

				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(tc.method, "/page", nil))
				require.Equal(t, int64(2), runs.Load(), "the request ran the handler")
				want := fmt.Sprintf("cache;desc=%s", tc.want)
				assert.Equal(t, []string{want}, cacheMetrics(w.Header().Get("Server-Timing")), "X-Cache: %s", w.Header().Get("X-Cache"))
				assert.Equal(t, strings.ToUpper(tc.want), w.Header().Get("X-Cache"))
			})
		})
	}
}
