package caching

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// TestTimingCacheMetricKeepsPlaceAfterUnvalidating304: in a SharedCache
// view, a 304 of the handler that does not validate the stored entry (the
// origin's ETag changed) runs the handler again without validators. That
// run's cache metric went last in the client's Server-Timing, after the
// handler's metrics, and not in the place kept for it as the revalidation
// began (timing.Reserve): a handler filling timing's bounds could push it
// out. It takes the place kept.
func TestTimingCacheMetricKeepsPlaceAfterUnvalidating304(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var runs atomic.Int64
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := runs.Add(1)
			timing.Add(r.Context(), "app", time.Millisecond, "")
			w.Header().Set("Cache-Control", "max-age=10")
			if n == 2 {
				// The origin's 304, for a tag the entry does not hold.
				w.Header().Set("ETag", `"v2"`)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, n))
			fmt.Fprintf(w, "page #%d", n)
		})
		h := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
			c.Cached(time.Minute, SharedCache())(next))
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		time.Sleep(15 * time.Second) // stale: revalidated

		res := get(h, "/p")
		require.Equal(t, "page #3", res.Body.String(), "the 304 validated nothing: the handler ran again")
		st := res.Header().Get("Server-Timing")
		assert.Equal(t, []string{"cache;desc=miss"}, cacheMetrics(st), st)
		assert.True(t, strings.HasPrefix(st, "cache;"), "the cache metric first, in the place kept: %s", st)
	})
}
