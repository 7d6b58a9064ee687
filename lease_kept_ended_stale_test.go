package caching

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a memoized call with a stale result (StaleIfError) serves
// it while another process computes the key under its lease. A lease kept
// after a release that never reached the backend counted as this
// process's (ownedLeases.has) after it ended too, until a leader's Add
// came upon it: the call, taking the other process's lease for its own,
// waited for that process's computation (up to the whole Lease) instead
// of serving its stale result.
func TestLeaseKeptEndedLeavesTheStaleServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &failsLeaseDeleteOnce{Store: newSimple(t, nil), err: failedReleases[0].err}
		var runs int
		unblock := make(chan struct{})
		memo := func(c *Cache) *Memoized[int, int] {
			return Memoize(c, "kept", func(context.Context, int) (int, error) {
				runs++
				if runs > 1 {
					<-unblock
				}
				return runs, nil
			}, TTL(time.Second), StaleIfError(time.Hour))
		}
		a := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
		defer a.Close()
		q := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
		defer q.Close()
		ma, mq := memo(a), memo(q)
		b.armed.Store(true)
		got, err := ma.Get(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, 1, got)
		synctest.Wait()
		require.False(t, b.armed.Load(), "the lease's Delete failed")

		time.Sleep(2 * time.Minute) // A's lease ended; its result is stale
		qDone := make(chan struct{})
		go func() {
			defer close(qDone)
			v, err := mq.Get(context.Background(), 1) // takes the lease, computes
			assert.NoError(t, err)
			assert.Equal(t, 2, v)
		}()
		synctest.Wait()

		aDone := make(chan struct{})
		var fromA int
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
		<-qDone
		<-aDone
		assert.NoError(t, err)
		assert.Equal(t, 1, fromA, "the stale result")
	})
}
