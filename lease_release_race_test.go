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

// releaseLandsAtAdd sets up, in a synctest bubble, a view of "/p" (a TTL
// of a second, opts) whose first run stored "page 1" and whose release of
// the lease (its Delete) waits for the backend, two seconds ago: the
// entry is no longer fresh. The next lease Add that finds the lease held
// lets that Delete end before it returns: the release lands between the
// Add and the look at ownedLeases after it. runs counts the handler's.
func releaseLandsAtAdd(t *testing.T, opts ...ViewOption) (c *Cache, b *heldLeaseDeletes, h http.Handler, runs *atomic.Int32) {
	b = newHeldLeaseDeletes(t)
	c = leased(b)
	t.Cleanup(func() { c.Close() })
	runs = new(atomic.Int32)
	h = c.Cached(time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page %d", runs.Add(1))
	}))
	t.Cleanup(b.Unblock)
	b.armed.Store(true)
	assert.Equal(t, "page 1", get(h, "/p").Body.String())
	<-b.entered // its release waits for the backend
	time.Sleep(2 * time.Second)
	b.setOnLeaseAdd(func(add func() (bool, error)) (bool, error) {
		added, err := add()
		if err == nil && !added {
			b.Unblock()
			// The release returned. (Not synctest.Wait: the test's
			// goroutine may be in it, which panics.)
			c.owned.settle(context.Background(), b.key, false, nil)
		}
		return added, err
	})
	return c, b, h, runs
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
		c, b, h, runs := releaseLandsAtAdd(t, StaleWhileRevalidate(time.Minute))
		assert.Equal(t, "page 1", get(h, "/p").Body.String()) // stale: a refresh starts
		synctest.Wait()
		b.Unblock()
		c.background.wait()
		assert.EqualValues(t, 2, runs.Load(), "the refresh ran")
		assert.Equal(t, "page 2", get(h, "/p").Body.String())
	})
}

// TestLeaseReleaseInFlightBeforeMissAdd: a miss whose key's lease this
// process is still releasing (the run before stored) waits for that
// release before its Add (acquireLease), and leads at once; its Add would
// otherwise find the lease held and, the release landing before the look
// at ownedLeases, wait for it as another process's (a LeaseWaits).
func TestLeaseReleaseInFlightBeforeMissAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, b, h, runs := releaseLandsAtAdd(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			assert.Equal(t, "page 2", get(h, "/p").Body.String())
		}()
		synctest.Wait()
		b.Unblock()
		<-done
		assert.Zero(t, c.Stats().LeaseWaits, "the miss waited for its own process's lease")
		assert.EqualValues(t, 2, runs.Load())
	})
}
