package caching

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a caller of this process that waits for the key's lease
// (here a joiner that took a stuck computation over past its
// CollapseTimeout) reads the lease until it is gone. When the stuck run
// stored its result and the Delete of its lease never reached the backend,
// the lease stayed this process's own (ownedLeases), held for the rest of
// the Lease, and the waiter read it held until the whole Lease from its
// first look had passed (here its caller's deadline came first). A lease
// of this process's own, in release or kept, is no run to wait for: the
// waiter goes on as for a lease gone, and takes it over.
func TestLeaseKeptByOwnRunEndsTheWaitOfItsProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &failsLeaseDeleteOnce{Store: newSimple(t, nil), err: failedReleases[1].err}
		c, err := New(&Options{Backend: &remote{Backend: b}, Timeout: 10 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		gate := make(chan struct{})
		m, n := memoGated(c, "kept-poller", []chan struct{}{gate}, TTL(time.Hour), Lease(time.Minute), CollapseTimeout(2*time.Second))
		stuck := goGet(m, 1)
		synctest.Wait()
		taker := goGet(m, 1)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.EqualValues(t, 1, n.Load(), "the joiner waits for the stuck run's lease")
		b.armed.Store(true) // its release is refused: the lease stays this process's
		close(gate)
		r := <-stuck
		require.NoError(t, r.err)
		assert.Equal(t, "v1", r.v)
		synctest.Wait() // its release returned
		assert.False(t, b.armed.Load(), "the release was refused")
		time.Sleep(time.Second) // twenty of the waiter's polls
		synctest.Wait()
		select {
		case r = <-taker: // within the second
		default:
			t.Error("the waiter reads its own process's lease held until the Lease ends")
			r = <-taker
		}
		assert.NoError(t, r.err)
		// As when the stuck run's release is made: the taker leads then
		// (TestMemoizeTakerUnderLeaseStuckHolderEndsFirst).
		assert.Equal(t, "v2", r.v, "the taker computes at once")
		assert.EqualValues(t, 2, n.Load())
		assert.Zero(t, c.Stats().LeaseTimeouts)
	})
}
