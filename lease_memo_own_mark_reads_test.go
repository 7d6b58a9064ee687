package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend"
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
		c, m, calls := staleOwnMark(t, b)
		defer c.Close()

		before := b.n.Load()
		v, err := m.Get(context.Background(), 1)
		require.NoError(t, err)
		assert.Equal(t, "v1", v, "the stale result")
		assert.EqualValues(t, 3, calls.Load(), "the function ran on the mark")
		assert.EqualValues(t, 1, b.n.Load()-before, "reads of the lease")
		assert.Zero(t, c.Stats().LeaseWaits)
	})
}

// staleOwnMark makes a Cache on b, with a minute's lease, and on it
// staleMemo of failsAfterFirst (its calls counted in calls), whose call
// for 1 then fails: the stale result answers, and the release marks the
// lease "not stored" (kept as this process's). The caller closes c.
func staleOwnMark(t *testing.T, b backend.Backend) (c *Cache, m *Memoized[int, string], calls *atomic.Int32) {
	t.Helper()
	c = Must(&Options{Backend: b, Lease: time.Minute, Timeout: time.Hour})
	calls = new(atomic.Int32)
	m = staleMemo(t, c, failsAfterFirst(calls))
	v, err := m.Get(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "v1", v)
	c.background.wait()
	require.EqualValues(t, 2, calls.Load())
	return c, m, calls
}
