package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestCachedMuxRefreshSlotsPerRoute: CachedMux bounds its background
// refreshes (StaleWhileRevalidate) per route, as the README says ("at most
// 8 refreshes at a time per route"): refreshes stuck on one route (a slow
// backend of its own) do not keep another route's stale entries from
// being refreshed. The whole mux shared one view's 8 slots.
func TestCachedMuxRefreshSlotsPerRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var stuck atomic.Bool
		release := make(chan struct{})
		var slowRuns, fastRuns atomic.Int64
		mux := http.NewServeMux()
		mux.HandleFunc("/slow/{id}", func(w http.ResponseWriter, r *http.Request) {
			n := slowRuns.Add(1)
			if stuck.Load() {
				<-release
			}
			fmt.Fprintf(w, "slow %s #%d", r.PathValue("id"), n)
		})
		mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "fast #%d", fastRuns.Add(1))
		})
		h := c.CachedMux(mux, time.Minute, StaleWhileRevalidate(time.Hour))
		for i := range maxRefreshes {
			get(h, fmt.Sprintf("/slow/%d", i))
		}
		get(h, "/fast")
		time.Sleep(2 * time.Minute) // every entry is stale
		stuck.Store(true)
		for i := range maxRefreshes {
			get(h, fmt.Sprintf("/slow/%d", i)) // served stale; its refresh hangs
		}
		synctest.Wait()
		assert.Equal(t, int64(2*maxRefreshes), slowRuns.Load(), "every slow route's refresh started")
		assert.Equal(t, "fast #1", get(h, "/fast").Body.String(), "served stale")
		synctest.Wait()
		assert.Equal(t, int64(2), fastRuns.Load(), "the fast route's refresh ran beside the stuck ones")
		close(release)
		c.wait()
	})
}
