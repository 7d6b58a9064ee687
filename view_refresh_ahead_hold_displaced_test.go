package caching

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewRefreshAheadHoldDisplacedPutBack: in a SharedCache view, the
// refresh of an older entry (read by a request just before a newer one was
// stored) that a hold let through, the older entry being near its end,
// took the hold's place, found the newer entry stored (replacedSince), ran
// nothing, and deleted the hold: the next hit of the newer entry, whose
// refresh had failed, ran the failing origin again within the hold. The
// hold it displaced is put back, and still ends when it would have.
func TestViewRefreshAheadHoldDisplacedPutBack(t *testing.T) {
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
				w.Header().Set("Cache-Control", "max-age=4")
			} else {
				w.Header().Set("Cache-Control", "max-age=60")
			}
			fmt.Fprintf(w, "page #%d", n)
		}))
		require.Equal(t, "page #1", get(h, "/p").Body.String()) // fresh until 60 s
		time.Sleep(59200 * time.Millisecond)                    // 59.2 s: due, fresh for 0.8 s more
		var asked atomic.Int32
		refreshAskedHook = func(string) {
			if asked.Add(1) != 1 {
				return // the newer entry's refresh, below
			}
			// Between the request's read of page #1 and its refresh: a
			// newer response is stored, and its own refresh, once due,
			// fails.
			short.Store(true)
			rep := c.Warm(context.Background(), h, WarmTarget{URL: "http://example.com/p"})
			require.Equal(t, 1, rep.Stored) // page #2, fresh until 63.2 s, due at 60.2 s
			time.Sleep(1100 * time.Millisecond)
			failing.Store(true)
			require.Equal(t, "page #2", get(h, "/p").Body.String()) // 60.3 s
			synctest.Wait()
			require.Equal(t, int64(3), runs.Load(), "the newer entry's refresh ran, and failed: held until 61.3 s")
		}
		defer func() { refreshAskedHook = nil }()
		// The older entry's refresh: it would expire (at 60 s) within the
		// hold, which lets it through, and it finds the newer entry stored.
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		synctest.Wait()
		refreshAskedHook = nil
		require.EqualValues(t, 2, asked.Load())
		require.Equal(t, int64(3), runs.Load(), "the older entry's refresh ran nothing")

		time.Sleep(100 * time.Millisecond) // 60.4 s: within the hold
		require.Equal(t, "page #2", get(h, "/p").Body.String())
		synctest.Wait()
		assert.Equal(t, int64(3), runs.Load(), "the failing origin ran again within the hold")

		time.Sleep(time.Second) // 61.4 s: the hold is over
		require.Equal(t, "page #2", get(h, "/p").Body.String())
		synctest.Wait()
		assert.Equal(t, int64(4), runs.Load(), "the hold put back did not end")
	})
}
