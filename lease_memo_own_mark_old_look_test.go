package caching

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseMemoStaleOwnMarkOldLookReadAgain: a memoized call with a stale
// result (StaleIfError) whose look at the lease (Memoized.leaseHeld) found
// this process's own "not stored" mark reads the lease again in its run,
// rather than take that look for its run's (memoStale.ownRead), where the
// run begins only later (it joined a computation of the key that ended
// without a result for it: a runtime.Goexit of the function), or after a
// Clear of this process began. The mark ended meanwhile (early, as on
// memcached, or deleted by that Clear) and another process took the
// lease: the call serves its stale result at once, as on a lease its look
// found held, rather than call the function beside that process's run
// (and serve its stale result when that fails); its run, which nobody
// waits for any more, waits for that process's run.
func TestLeaseMemoStaleOwnMarkOldLookReadAgain(t *testing.T) {
	t.Run("late run", func(t *testing.T) { testLeaseMemoStaleOldLook(t, false) })
	t.Run("Clear", func(t *testing.T) { testLeaseMemoStaleOldLook(t, true) })
}

// testLeaseMemoStaleOldLook is TestLeaseMemoStaleOwnMarkOldLookReadAgain,
// where the mark ends by a Clear of this process (clear), else early.
func testLeaseMemoStaleOldLook(t *testing.T, clear bool) {
	synctest.Test(t, func(t *testing.T) {
		shared := newSimple(t, nil)
		b := &leaseReads{Backend: &remote{Backend: shared}}
		c, m, calls := staleOwnMark(t, b)
		defer c.Close()

		// A computation of the key without a stale result (the same
		// function's name, which the call joins) runs on the mark, and
		// ends by runtime.Goexit once the call joined it.
		exit := make(chan struct{})
		plain := Memoize(c, "f", func(context.Context, int) (string, error) {
			calls.Add(1)
			<-exit
			runtime.Goexit()
			return "", nil
		}, TTL(time.Second))
		go func() { _, _ = plain.Get(context.Background(), 1) }()
		synctest.Wait()
		require.EqualValues(t, 3, calls.Load())
		before := b.n.Load()
		call := goGet(m, 1)
		synctest.Wait()
		require.EqualValues(t, 1, b.n.Load()-before, "the call's look read the mark")
		_, ok := ready(call)
		require.False(t, ok, "the call joined the computation")

		// Meanwhile the mark ends, and another process takes the lease
		// and runs the function.
		if clear {
			require.NoError(t, c.Clear(context.Background()))
		} else {
			k, err := m.appendKey(nil, 1)
			require.NoError(t, err)
			require.NoError(t, shared.Delete(context.Background(), c.leaseKey(string(k))))
		}
		other := Must(&Options{Backend: &remote{Backend: shared}, Lease: time.Minute, Timeout: time.Hour})
		defer other.Close()
		var otherCalls atomic.Int32
		release := make(chan struct{})
		peer := Memoize(other, "f", func(context.Context, int) (string, error) {
			otherCalls.Add(1)
			<-release
			return "v2", nil
		}, TTL(time.Second))
		peerDone := goGet(peer, 1)
		synctest.Wait()
		require.EqualValues(t, 1, otherCalls.Load(), "the other process runs under the lease")
		if !clear {
			time.Sleep(10 * leaseRoundTrips) // the look is old by the time its run begins
		}

		close(exit)
		synctest.Wait()
		r, ok := ready(call)
		assert.True(t, ok, "the call with a stale result waited for the other process's run")
		close(release)
		require.NoError(t, (<-peerDone).err)
		if !ok {
			r = <-call
		}
		require.NoError(t, r.err)
		assert.Equal(t, "v1", r.v, "the stale result")
		// The call's run, detached, ends within its lease: it finds the
		// other process's result, and does not call the function.
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.EqualValues(t, 3, calls.Load(), "the function ran beside the other process's run")
		assert.Equal(t, int64(1), c.Stats().LeaseWaits, "the call's run waits for the other process's")
	})
}
