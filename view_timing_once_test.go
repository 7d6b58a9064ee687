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

// runReportCases are the answers of a run a stale entry may answer: the
// handler's second run (its first stored the entry) answers with fail,
// and the request reports want, as its status header says.
var runReportCases = []struct {
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

// TestRunReportsCacheOnce: a request whose run fails and is answered with
// the stale entry (a 5xx or a panic, StaleIfError; GET and HEAD), or whose
// revalidation the origin answers 304 (SharedCache), told timing "miss"
// as its run began, then what answered it: two cache metrics for one
// request. It reports what answered it, once, as its status header does.
func TestRunReportsCacheOnce(t *testing.T) {
	for _, tc := range runReportCases {
		t.Run(tc.name, func(t *testing.T) { checkRunReport(t, tc.method, tc.shared, tc.fail, tc.want, 0) })
	}
}

// checkRunReport stores an entry, lets it go stale, and runs the handler
// again for a request of method whose second run first adds metrics
// metrics of its own to timing, then answers with fail: the request must
// report one cache metric, want, as its status header says, and, where
// the handler added metrics, first, in the place kept for it.
func checkRunReport(t *testing.T, method string, shared bool, fail func(http.ResponseWriter), want string, metrics int) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int64
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if runs.Add(1) > 1 {
				for i := range metrics {
					timing.Add(r.Context(), fmt.Sprintf("step%03d", i), time.Millisecond, "a step of the page")
				}
				fail(w)
				return
			}
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"v1"`)
			_, _ = w.Write([]byte("stored"))
		})
		opts := []ViewOption{StaleIfError(time.Minute), CacheStatusHeader("X-Cache")}
		if shared {
			opts = append(opts, SharedCache())
		}
		h := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
			c.Cached(10*time.Second, opts...)(next))
		require.Equal(t, "stored", get(h, "/page").Body.String())
		time.Sleep(15 * time.Second) // stale: the next request runs the handler

		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, "/page", nil))
		require.Equal(t, int64(2), runs.Load(), "the request ran the handler")
		metric := fmt.Sprintf("cache;desc=%s", want)
		st := w.Header().Get("Server-Timing")
		assert.Equal(t, []string{metric}, cacheMetrics(st), "X-Cache: %s", w.Header().Get("X-Cache"))
		assert.Equal(t, strings.ToUpper(want), w.Header().Get("X-Cache"))
		if metrics > 0 {
			assert.True(t, strings.HasPrefix(st, metric), "first, in the place kept: %.80s", st)
		}
	})
}
