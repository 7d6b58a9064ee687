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

// TestSharedRefreshAheadErrorKeepsFreshEntry: 71b0976 kept the entry when
// the background refresh that stale-while-revalidate starts got a 5xx with
// explicit freshness, but the other background refresh of a SharedCache
// view, RefreshAhead's (started while the entry is still fresh), stored
// that 5xx in place of the good entry: every client then got the 503 as a
// HIT for its max-age, where a moment before they got the 200 (fresh for 3
// more seconds, and within stale-if-error=600 after). A refresh ahead's 5xx
// now leaves the fresh entry.
func TestSharedRefreshAheadErrorKeepsFreshEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var down atomic.Bool
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if down.Load() {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, "down")
				return
			}
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=30, stale-if-error=600")
			fmt.Fprint(w, "up")
		})
		v := c.Cached(time.Hour, SharedCache(), StaleIfError(time.Hour), StaleWhileRevalidate(time.Hour),
			RefreshAhead(5*time.Second), CacheStatusHeader("X-Cache"))(h)
		require.Equal(t, "up", get(v, "/p").Body.String())
		time.Sleep(7 * time.Second) // fresh, within RefreshAhead of its end
		down.Store(true)
		w := get(v, "/p")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		synctest.Wait() // the refresh ahead ran and got the 503
		w = get(v, "/p")
		assert.Equal(t, http.StatusOK, w.Code, "a failed refresh-ahead replaced a fresh entry with the origin's 503")
		assert.Equal(t, "up", w.Body.String())
	})
}
