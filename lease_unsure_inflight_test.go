package caching

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a lease whose Add timed out (unsure: the lease under the key
// may be another process's from the start) counted as this process's
// while its release was in flight (ownedLeases.has). A memoized call with
// a stale result (StaleIfError), which serves it while another process
// computes the key, took the other process's lease for its own: it led,
// and waited for that release (a whole Timeout on a hung backend) and
// then for the other process's computation, instead of serving its stale
// result at once.
func TestLeaseUnsureReleaseInFlightLeavesTheStaleServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newHeldLeaseDeletes(t)
		defer b.Unblock()
		a, q := leased(b), leased(b.Store)
		defer q.Close()
		defer a.Close()
		aGate, qGate := make(chan struct{}), make(chan struct{})
		defer close(qGate)
		var aRuns atomic.Int32
		opts := []MemoOption{TTL(time.Second), StaleIfError(time.Hour)}
		ma := Memoize(a, "f", func(context.Context, int) (string, error) {
			n := aRuns.Add(1)
			if n == 2 {
				<-aGate
			}
			return fmt.Sprintf("a%d", n), nil
		}, opts...)
		mq := Memoize(q, "f", func(context.Context, int) (string, error) {
			<-qGate
			return "q", nil
		}, opts...)
		v, err := ma.Get(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, "a1", v)
		synctest.Wait()
		time.Sleep(2 * time.Second) // a1 is stale

		// A's next lease Add is not made, and answers a timeout: A cannot
		// tell it from one made whose reply came too late (mayHaveLanded).
		b.setOnLeaseAdd(func(func() (bool, error)) (bool, error) {
			return false, fmt.Errorf("redis: %w", context.DeadlineExceeded)
		})
		b.armed.Store(true) // the release of that lease waits for the backend
		second := goGet(ma, 1)
		synctest.Wait()
		require.Nil(t, b.onLeaseAdd.Load(), "A's lease Add was made")
		qDone := goGet(mq, 1) // Q's stale call finds no lease held: it takes it, computes
		synctest.Wait()
		close(aGate)
		r := <-second
		require.NoError(t, r.err)
		require.Equal(t, "a2", r.v)
		<-b.entered // A's release of the lease it may hold, in flight
		synctest.Wait()
		time.Sleep(2 * time.Second) // a2 is stale

		third := goGet(ma, 1)
		synctest.Wait()
		r, ok := ready(third)
		if !assert.True(t, ok, "A waits rather than serve its stale result while Q computes") {
			b.Unblock()
			r = <-third
		}
		assert.NoError(t, r.err)
		assert.Equal(t, "a2", r.v, "the stale result")
		assert.EqualValues(t, 2, aRuns.Load())
		_, ok = ready(qDone)
		assert.False(t, ok, "Q still computes")
	})
}
