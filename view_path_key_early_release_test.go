package caching

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestEarlyReleasedFlightKeepsEntry: 10d4fc4 releases a SharedCache
// flight at commit when its response is not reusable (no-cache): the call
// leaves viewFlight.calls before its run stores. A refused run that led
// no flight (Authorization, same URL) and created the path key ends in
// between: forgetCreated finds no flight to adopt its key (the call is
// gone) and no entry (not stored yet), and deletes the key the flight's
// entry is then stored under. The next request, which would revalidate it
// (a 304), makes the full page again.
func TestEarlyReleasedFlightKeepsEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSimple(t, nil)
		c := Must(&Options{Backend: b})
		defer c.Close()
		authDone, bodyDone := make(chan struct{}), make(chan struct{})
		var full atomic.Int32
		ch := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				<-authDone
				w.Header().Set("Cache-Control", "private")
				fmt.Fprint(w, "alice's page")
				return
			}
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			full.Add(1)
			w.WriteHeader(http.StatusOK)
			if full.Load() == 1 {
				<-bodyDone // the body takes its time: committed, not yet stored
			}
			fmt.Fprint(w, "page")
		}))
		var wg sync.WaitGroup
		wg.Go(func() { get(ch, "/page", "Authorization", "Bearer alice") })
		synctest.Wait() // created the path key, held
		wg.Go(func() { get(ch, "/page") })
		synctest.Wait() // the anonymous flight read the key, committed (released), held
		close(authDone)
		synctest.Wait() // the refused run ends: no flight to adopt, no entry yet
		close(bodyDone)
		wg.Wait()
		assert.Equal(t, "page", get(ch, "/page").Body.String())
		assert.EqualValues(t, 1, full.Load(), "the stored no-cache entry is revalidated (304), not made again")
	})
}
