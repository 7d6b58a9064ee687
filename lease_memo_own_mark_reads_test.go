package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseMemoStaleOwnMarkReadOnce: a memoized call with a stale result
// (StaleIfError) on this process's own live "not stored" mark reads the
// lease once: its look (leaseHeld), which finds it marked, not held, is
// its run's look too, which read it a second time at once. The call
// still calls the function, without the lease, and serves its stale
// result when that fails.
func TestLeaseMemoStaleOwnMarkReadOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &leaseReads{Backend: &remote{Backend: newSimple(t, nil)}}
		c := Must(&Options{Backend: b, Lease: time.Minute, Timeout: time.Hour})
		defer c.Close()
		var calls atomic.Int32
		m := staleMemo(t, c, failsAfterFirst(&calls))

		// The computation fails: the stale result answers, and the
		// release marks the lease (kept as this process's).
		v, err := m.Get(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, "v1", v)
		c.background.wait()
		require.EqualValues(t, 2, calls.Load())

		before := b.n.Load()
		v, err = m.Get(context.Background(), 1)
		require.NoError(t, err)
		assert.Equal(t, "v1", v, "the stale result")
		assert.EqualValues(t, 3, calls.Load(), "the function ran on the mark")
		assert.EqualValues(t, 1, b.n.Load()-before, "reads of the lease")
		assert.Zero(t, c.Stats().LeaseWaits)
	})
}
