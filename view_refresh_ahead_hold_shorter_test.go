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

// TestViewRefreshAheadHoldEndsForShorterNewEntry: in a SharedCache view,
// the hold of a failed RefreshAhead refresh (a quarter of d, at most a
// second, and at most a quarter of the refreshed entry's lifetime) kept
// off the refresh of an entry stored after it whose origin had shortened
// its freshness below a second: the new entry, due, was not refreshed,
// and it expired in front of a client (an ordinary miss). A hold keeps off
// only the refreshes of the entry whose refresh failed.
func TestViewRefreshAheadHoldEndsForShorterNewEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var failing, short atomic.Bool
		var runs atomic.Int64
		h := c.Cached(time.Hour, RefreshAhead(4*time.Second), SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := runs.Add(1)
			if failing.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			if short.Load() {
				// Dated at the start of the second: fresh until its end.
				w.Header().Set("Date", time.Now().Truncate(time.Second).UTC().Format(http.TimeFormat))
				w.Header().Set("Cache-Control", "max-age=1")
			} else {
				w.Header().Set("Cache-Control", "max-age=60")
			}
			fmt.Fprintf(w, "page #%d", n)
		}))
		time.Sleep(500 * time.Millisecond)
		require.Equal(t, "page #1", get(h, "/p").Body.String()) // fresh until 60.5 s
		time.Sleep(59800 * time.Millisecond)                    // 60.3 s: due
		failing.Store(true)
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		synctest.Wait()
		require.Equal(t, int64(2), runs.Load(), "the refresh ran, and failed: held for a second")
		failing.Store(false)
		short.Store(true)

		time.Sleep(300 * time.Millisecond) // 60.6 s: expired, within the hold
		require.Equal(t, "page #3", get(h, "/p").Body.String(), "a miss stored a new entry, fresh until 61 s")
		time.Sleep(200 * time.Millisecond) // 60.8 s: the new entry is due, the hold not over
		require.Equal(t, "page #3", get(h, "/p").Body.String())
		synctest.Wait()
		assert.Equal(t, int64(4), runs.Load(), "the new entry, due, was not refreshed: held by the failure before it")
	})
}
