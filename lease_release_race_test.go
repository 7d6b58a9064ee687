package caching

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// releaseInAdd is heldLeaseDeletes whose next lease Add, once armed, that
// finds the lease held lets the blocked Delete of it end before it returns:
// the release lands between the Add and the look at ownedLeases after it.
type releaseInAdd struct {
	*heldLeaseDeletes
	armedAdd atomic.Bool
}

func (s *releaseInAdd) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	added, err := s.Store.Add(ctx, key, value, ttl)
	if err == nil && !added && strings.Contains(key, kindLease) && s.armedAdd.CompareAndSwap(true, false) {
		s.Unblock()
		synctest.Wait() // the release returned
	}
	return added, err
}

// Regression: a leader's lease is released after its response, off its
// path (releaseLeaseLater). A background refresh of the key whose Add
// came while that release was in flight, and found the lease held, then
// found no release in flight when it looked (it had ended meanwhile), took
// the lease for another process's and was skipped: the stale entry stayed,
// and nobody ran. (close_refresh_lease_test's Redis test hung so under
// load.) An Add now waits for a release of its key in flight first.
func TestLeaseReleaseInFlightBeforeRefreshAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &releaseInAdd{heldLeaseDeletes: newHeldLeaseDeletes(t)}
		c := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute, Timeout: time.Hour})
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
		b.armedAdd.Store(true)
		assert.Equal(t, "page 1", get(h, "/p").Body.String()) // stale: a refresh starts
		synctest.Wait()
		b.Unblock()
		c.background.wait()
		assert.EqualValues(t, 2, runs.Load(), "the refresh ran")
		assert.Equal(t, "page 2", get(h, "/p").Body.String())
	})
}
