package caching

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keptLease memoizes fn as one function in two processes, a and q, on one
// backend, under a Lease of a minute. a's call computes (fn returns 1) and
// stores the result; the Delete of its lease fails with a refused
// connection: a keeps the lease (ownedLeases).
func keptLease(t *testing.T, fn func(context.Context, int) (int32, error), opts ...MemoOption) (ma, mq *Memoized[int, int32]) {
	b := &failsLeaseDeleteOnce{Store: newSimple(t, nil), err: failedReleases[0].err}
	procs := [2]*Memoized[int, int32]{}
	for i := range procs {
		c := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
		t.Cleanup(func() { _ = c.Close() })
		procs[i] = Memoize(c, "kept", fn, opts...)
	}
	b.armed.Store(true)
	got, err := procs[0].Get(context.Background(), 1)
	require.NoError(t, err)
	require.EqualValues(t, 1, got)
	synctest.Wait()
	require.False(t, b.armed.Load(), "the lease's Delete failed")
	return procs[0], procs[1]
}

// Regression: a lease kept after a release that never reached the backend
// was taken over with what was left of it. Taken over 5 s before its end,
// the run (10 s) outlived it, and another process's miss after its end
// added the key's lease and ran the function beside it: two runs at once,
// where the miss that waited the lease out before led alone. The lease
// taken over is the process's for a whole Lease again: the other process
// waits for that run's result.
func TestLeaseTakeoverOutlivesNoOtherRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs, running, overlapped atomic.Int32
		ma, mq := keptLease(t, func(context.Context, int) (int32, error) {
			n := runs.Add(1)
			if running.Add(1) > 1 {
				overlapped.Add(1)
			}
			defer running.Add(-1)
			if n > 1 {
				time.Sleep(10 * time.Second)
			}
			return n, nil
		}, TTL(time.Second))

		time.Sleep(55 * time.Second) // the entry expired; 5 s left of the lease
		var wg sync.WaitGroup
		var fromA, fromQ int32
		wg.Go(func() {
			v, err := ma.Get(context.Background(), 1) // takes the lease over
			assert.NoError(t, err)
			fromA = v
		})
		time.Sleep(6 * time.Second) // past the first lease's end; A's run goes on
		wg.Go(func() {
			v, err := mq.Get(context.Background(), 1)
			assert.NoError(t, err)
			fromQ = v
		})
		wg.Wait()
		assert.EqualValues(t, 2, fromA)
		assert.EqualValues(t, 2, fromQ, "the other process waited for the run under the lease taken over")
		assert.Zero(t, overlapped.Load(), "two runs at once")
		assert.EqualValues(t, 2, runs.Load())
	})
}

// Regression: a memoized call with a stale result (StaleIfError) serves
// it while another process computes the key under its lease. A lease kept
// after a release that never reached the backend counted as this
// process's (ownedLeases.has) after it ended too, until a leader's Add
// came upon it: the call, taking the other process's lease for its own,
// waited for that process's computation (up to the whole Lease) instead
// of serving its stale result.
func TestLeaseKeptEndedLeavesTheStaleServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		unblock := make(chan struct{})
		ma, mq := keptLease(t, func(context.Context, int) (int32, error) {
			n := runs.Add(1)
			if n > 1 {
				<-unblock
			}
			return n, nil
		}, TTL(time.Second), StaleIfError(time.Hour))

		time.Sleep(2 * time.Minute) // A's lease ended; its result is stale
		var wg sync.WaitGroup
		wg.Go(func() {
			v, err := mq.Get(context.Background(), 1) // takes the lease, computes
			assert.NoError(t, err)
			assert.EqualValues(t, 2, v)
		})
		synctest.Wait()
		aDone := make(chan struct{})
		var fromA int32
		var err error
		go func() {
			defer close(aDone)
			fromA, err = ma.Get(context.Background(), 1)
		}()
		synctest.Wait()
		select {
		case <-aDone:
		default:
			t.Error("A waits for Q's computation rather than serve its stale result")
		}
		close(unblock)
		wg.Wait()
		<-aDone
		assert.NoError(t, err)
		assert.EqualValues(t, 1, fromA, "the stale result")
	})
}
