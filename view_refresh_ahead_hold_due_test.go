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

// TestViewRefreshAheadHoldEndsBeforeNewEntryIsDue: as
// TestRefreshAheadHoldEndsBeforeNewEntryIsDue, for a view, private and
// SharedCache. With RefreshAhead's d over the TTL, under a TTL of 4 s, the
// hold of a failed refresh (d/4, at most a second) outlasted the first due
// time of an entry stored after it (a quarter of its lifetime): the new
// entry's hits refreshed nothing, and it expired in front of a client. The
// hold is now at most a quarter of the refreshed entry's lifetime.
func TestViewRefreshAheadHoldEndsBeforeNewEntryIsDue(t *testing.T) {
	const ttl = 400 * time.Millisecond
	for name, opts := range map[string][]ViewOption{
		"private": {RefreshAhead(2 * time.Second)}, // a hold of 500 ms
		"shared":  {RefreshAhead(2 * time.Second), SharedCache()},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				var failing atomic.Bool
				var runs atomic.Int64
				h := c.Cached(ttl, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					n := runs.Add(1)
					if failing.Load() {
						http.Error(w, "down", http.StatusServiceUnavailable)
						return
					}
					w.Header().Set("Cache-Control", "max-age=60") // SharedCache: the view's TTL caps it
					fmt.Fprintf(w, "page #%d", n)
				}))
				require.Equal(t, "page #1", get(h, "/p").Body.String())
				time.Sleep(ttl/4 + 50*time.Millisecond) // due
				failing.Store(true)
				require.Equal(t, "page #1", get(h, "/p").Body.String())
				synctest.Wait()
				require.Equal(t, int64(2), runs.Load(), "the refresh ran, and failed")
				failing.Store(false)

				time.Sleep(ttl - ttl/4) // just expired, within the hold: a miss stores a new entry
				require.Equal(t, "page #3", get(h, "/p").Body.String())
				time.Sleep(ttl/4 + 50*time.Millisecond) // the new entry is due, and the hold of d/4 not over
				require.Equal(t, "page #3", get(h, "/p").Body.String())
				synctest.Wait()
				assert.Equal(t, int64(4), runs.Load(), "the new entry, due, was not refreshed: held by the failure before it")
			})
		})
	}
}
