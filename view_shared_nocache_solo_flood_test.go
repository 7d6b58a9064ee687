package caching

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestSoloKeysSurviveAFlood: a client asking for 20,000 URLs whose
// responses are no-cache without a validator (any query string of such an
// API) evicts the hit-for-miss mark of a popular no-cache URL (soloKeys
// forgets an arbitrary key when full): its concurrent misses join a
// flight again, and a waiter takes the leader's time to its header plus
// its own run: twice the time without the cache (rule 2), the review BA
// finding b330eda fixed.
func TestSoloKeysSurviveAFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		view := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			if r.URL.Path == "/hot" {
				time.Sleep(100 * time.Millisecond) // the time to its header
			}
			fmt.Fprint(w, "data")
		}))
		get(view, "/hot") // marked: its misses run on their own
		for i := range 20000 {
			get(view, fmt.Sprintf("/api?q=%d", i))
		}
		var wg sync.WaitGroup
		var slowest time.Duration
		var mu sync.Mutex
		for range 2 {
			wg.Go(func() {
				start := time.Now()
				get(view, "/hot")
				mu.Lock()
				slowest = max(slowest, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		if slowest > 150*time.Millisecond {
			t.Fatalf("a request of the no-cache URL took %v (the handler takes 100ms): it waited for another's run, then ran its own", slowest)
		}
	})
}
