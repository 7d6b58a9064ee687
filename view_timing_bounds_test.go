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

// TestRunReportsCacheWhenHandlerFillsTiming: a run a stale entry may
// answer reports its cache metric once the handler's status is known,
// after the handler's own metrics: where these filled timing's bounds
// (MaxMetrics, or MaxHeaderBytes), the cache metric was left out of the
// header (counted in omitted). Its place is kept as the run begins.
func TestRunReportsCacheWhenHandlerFillsTiming(t *testing.T) {
	for _, n := range []int{timing.MaxMetrics, 100} { // past MaxMetrics; past MaxHeaderBytes
		t.Run(fmt.Sprintf("metrics=%d", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if runs.Add(1) > 1 {
						for i := range n {
							timing.Add(r.Context(), fmt.Sprintf("step%03d", i), time.Millisecond, "a step of the page")
						}
					}
					w.Header().Set("Cache-Control", "max-age=10")
					_, _ = w.Write([]byte("page"))
				})
				h := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
					c.Cached(10*time.Second, StaleIfError(time.Minute))(next))
				require.Equal(t, "page", get(h, "/page").Body.String())
				time.Sleep(15 * time.Second) // stale: the next request runs the handler

				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/page", nil))
				require.Equal(t, int64(2), runs.Load())
				st := w.Result().Header.Get("Server-Timing")
				assert.Equal(t, []string{"cache;desc=miss"}, cacheMetrics(st))
				assert.True(t, strings.HasPrefix(st, "cache;desc=miss"), "first, in the place kept: %.80s", st)
			})
		})
	}
}
