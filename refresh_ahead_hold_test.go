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
)

// TestRefreshAheadHoldOutlivesStaleRefreshWithoutSlot: a stale entry's
// refresh that finds every refresh slot taken runs nothing, and leaves the
// backoff of a failed RefreshAhead refresh as it was: once the slots are
// free again, a hit within the backoff starts no RefreshAhead refresh.
func TestRefreshAheadHoldOutlivesStaleRefreshWithoutSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var failing, blocking, stale atomic.Bool
		var runs atomic.Int64
		release := make(chan struct{})
		h := c.Cached(aheadTTL, RefreshAhead(aheadWindow), StaleWhileRevalidate(time.Minute),
			StaleIf(func(*Response) bool { return stale.Load() }))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/block/") {
					if blocking.Load() {
						<-release
					}
					fmt.Fprint(w, "other")
					return
				}
				n := runs.Add(1)
				if failing.Load() {
					http.Error(w, "down", http.StatusServiceUnavailable)
					return
				}
				fmt.Fprintf(w, "page #%d", n)
			}))
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		for i := range maxRefreshes {
			get(h, fmt.Sprintf("/block/%d", i))
		}
		time.Sleep(aheadTTL - aheadWindow + time.Second) // due, all of them
		failing.Store(true)
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		synctest.Wait()
		require.Equal(t, int64(2), runs.Load(), "the RefreshAhead refresh failed: held")

		blocking.Store(true)
		for i := range maxRefreshes {
			get(h, fmt.Sprintf("/block/%d", i)) // takes every slot
		}
		synctest.Wait()
		stale.Store(true)
		require.Equal(t, "page #1", get(h, "/p").Body.String(), "served stale; its refresh finds no slot")
		stale.Store(false)
		close(release)
		synctest.Wait() // the slots are free

		require.Equal(t, "page #1", get(h, "/p").Body.String())
		synctest.Wait()
		assert.Equal(t, int64(2), runs.Load(), "a hit within the backoff refreshed")
	})
}
