package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStuckRefreshBoundedByStaleWindow: a background refresh whose handler
// never ends keeps the other refreshes of its entry from starting in its
// process (one refresh of an entry at a time), so that the entry is served
// stale for its whole StaleWhileRevalidate window, then missed and run in
// the foreground, and stored. The stuck refresh, ending at last, must not
// store its response, older than the one stored since, over it.
func TestStuckRefreshBoundedByStaleWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int32
		stuck := make(chan struct{})
		h := c.Cached(time.Second, StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := runs.Add(1)
			if n == 2 {
				<-stuck // the first refresh never ends, until the test says
			}
			fmt.Fprintf(w, "run %d", n)
		}))
		require.Equal(t, "run 1", get(h, "/a").Body.String())
		time.Sleep(1500 * time.Millisecond)
		w := get(h, "/a")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		synctest.Wait()
		require.EqualValues(t, 2, runs.Load(), "the refresh runs, stuck")

		time.Sleep(30 * time.Second)
		w = get(h, "/a")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "within the window: served stale")
		synctest.Wait()
		assert.EqualValues(t, 2, runs.Load(), "no second refresh of the entry starts")

		time.Sleep(31 * time.Second) // past the stale window
		w = get(h, "/a")
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
		assert.Equal(t, "run 3", w.Body.String(), "the miss runs in the foreground")
		w = get(h, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "run 3", w.Body.String(), "and stores")

		close(stuck) // the stuck refresh ends, last
		synctest.Wait()
		w = get(h, "/a")
		assert.Equal(t, "run 3", w.Body.String(), "the stuck refresh's older response replaced nothing")
	})
}
