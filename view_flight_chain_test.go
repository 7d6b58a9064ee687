package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestHungUpRunsKeepNoChain: in a SharedCache view, request after request
// for a slow page hangs up while its run goes on, each run outlasting the
// next request's start: each call runs in place of the one before (prev),
// none with a waiter. The flight must not keep every earlier call alive
// (and walk them all on each end) for as long as the runs overlap.
func TestHungUpRunsKeepNoChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSimple(t, nil)
		c := Must(&Options{Backend: b})
		defer c.Close()
		finish := make(chan chan struct{}, 1)
		vh := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			done := make(chan struct{})
			finish <- done
			<-done // ignores its client's leaving
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprint(w, "page")
		}))
		v := vh.(*view)
		var prevDone chan struct{}
		const n = 50
		for range n {
			ctx, hangUp := context.WithCancel(context.Background())
			go vh.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/slow", nil).WithContext(ctx))
			synctest.Wait()
			done := <-finish
			hangUp()
			synctest.Wait()
			if prevDone != nil {
				close(prevDone) // the run before ends after this one began
				synctest.Wait()
			}
			prevDone = done
		}
		v.flight.mu.Lock()
		chain := 0
		for _, l := range v.flight.left {
			for p := l.prev; p != nil; p = p.prev {
				chain++
			}
		}
		v.flight.mu.Unlock()
		assert.LessOrEqual(t, chain, 2, "calls kept behind the last of %d", n)
		close(prevDone)
		synctest.Wait()
		assertFlightEmpty(t, v, "/slow")
	})
}
