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
)

// Regression: a leader's lease is released after its response, off its
// path (releaseLeaseLater). A background refresh of the key whose Add
// came while that release was in flight, and found the lease held, then
// found no release in flight when it looked (it had ended meanwhile), took
// the lease for another process's and was skipped: the stale entry stayed,
// and nobody ran. (close_refresh_lease_test's Redis test hung so under
// load.) An Add now waits for a release of its key in flight first.
func TestLeaseReleaseInFlightBeforeRefreshAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newHeldLeaseDeletes(t)
		c := leased(b)
		defer c.Close()
		var runs atomic.Int32
		h := c.Cached(time.Second, StaleWhileRevalidate(time.Minute))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "page %d", runs.Add(1))
		}))
		defer b.Unblock()
		b.armed.Store(true)
		assert.Equal(t, "page 1", get(h, "/p").Body.String())
		<-b.entered // its release waits for the backend
		time.Sleep(2 * time.Second)
		// The refresh's lease Add, which finds the lease held, lets the
		// blocked Delete of it end before it returns: the release lands
		// between the Add and the look at ownedLeases after it.
		b.setOnLeaseAdd(func(add func() (bool, error)) (bool, error) {
			added, err := add()
			if err == nil && !added {
				b.Unblock()
				// The release returned. (Not synctest.Wait: the test's
				// goroutine may be in it, which panics.)
				c.owned.settle(context.Background(), b.key)
			}
			return added, err
		})
		assert.Equal(t, "page 1", get(h, "/p").Body.String()) // stale: a refresh starts
		synctest.Wait()
		b.Unblock()
		c.background.wait()
		assert.EqualValues(t, 2, runs.Load(), "the refresh ran")
		assert.Equal(t, "page 2", get(h, "/p").Body.String())
	})
}
