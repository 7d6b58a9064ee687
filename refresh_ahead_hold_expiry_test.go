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

// TestStaleRefreshRunsWhenHoldEndsMeanwhile: a stale entry's refresh that
// found the hold of a failed RefreshAhead refresh, whose timer then fired
// before the refresh took the hold's place, was skipped: the key was free,
// and no refresh ran. It takes the free key and runs.
func TestStaleRefreshRunsWhenHoldEndsMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var failing, stale atomic.Bool
		var runs atomic.Int64
		h := c.Cached(aheadTTL, RefreshAhead(aheadWindow), StaleWhileRevalidate(time.Minute),
			StaleIf(func(*Response) bool { return stale.Load() }))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := runs.Add(1)
				if failing.Load() {
					http.Error(w, "down", http.StatusServiceUnavailable)
					return
				}
				fmt.Fprintf(w, "page #%d", n)
			}))
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		time.Sleep(aheadTTL - aheadWindow + time.Second) // due
		failing.Store(true)
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		synctest.Wait()
		require.Equal(t, int64(2), runs.Load(), "the RefreshAhead refresh failed: held")
		failing.Store(false)

		refreshHeldHook = func(string) {
			time.Sleep(aheadBackoff(aheadWindow) + time.Second) // the hold's timer fires
		}
		defer func() { refreshHeldHook = nil }()
		stale.Store(true)
		require.Equal(t, "page #1", get(h, "/p").Body.String(), "served stale")
		synctest.Wait()
		assert.Equal(t, int64(3), runs.Load(), "the stale entry's refresh ran")
		stale.Store(false)
		assert.Equal(t, "page #3", get(h, "/p").Body.String(), "and stored its response")
	})
}
