package caching

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefreshAheadOutlivedStoreHoldsNothing: a memoized function's
// RefreshAhead refresh whose result was stored, but to leave the store too
// soon for a lease's waiters to read it (leaseOutlived: a TTL under
// leaseShortLife), was counted as one that stored nothing, and held off
// the next refresh: the entry is renewed, and no hold follows.
func TestRefreshAheadOutlivedStoreHoldsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		const ttl = 60 * time.Millisecond // under leaseShortLife
		m, o := memoizeFailing(c, "outlived", TTL(ttl), RefreshAhead(20*time.Millisecond))
		_, err := m.Get(t.Context(), 1)
		require.NoError(t, err)
		time.Sleep(ttl - 15*time.Millisecond) // due: within RefreshAhead
		v, err := m.Get(t.Context(), 1)
		require.NoError(t, err)
		require.Equal(t, "result #1", v)
		synctest.Wait()
		require.Equal(t, int64(2), o.runs.Load(), "the refresh ran")
		v, err = m.Get(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, "result #2", v, "the refresh's result was not stored")
		m.refreshMu.Lock()
		held := len(m.refreshing) // the one key's refresh ended: a hold, or nothing
		m.refreshMu.Unlock()
		assert.Zero(t, held, "a refresh that stored its result holds off the next")
	})
}

// TestRefreshAheadHoldEndsBeforeNewEntryIsDue: with RefreshAhead's d over
// the TTL, under a TTL of 4 s, the hold of a failed refresh (d/4, at most a
// second) outlasted the first due time of an entry stored after it (a
// quarter of its lifetime): the new entry's hits refreshed nothing, and it
// expired in front of a caller. The hold is now at most a quarter of the
// entry's lifetime.
func TestRefreshAheadHoldEndsBeforeNewEntryIsDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		const ttl = 400 * time.Millisecond
		m, o := memoizeFailing(c, "hold-due", TTL(ttl), RefreshAhead(2*time.Second)) // a hold of 500 ms
		get := func() string {
			t.Helper()
			v, err := m.Get(t.Context(), 1)
			require.NoError(t, err)
			return v
		}
		require.Equal(t, "result #1", get())
		time.Sleep(ttl/4 + 50*time.Millisecond) // due
		o.fail.Store(true)
		require.Equal(t, "result #1", get())
		synctest.Wait()
		require.Equal(t, int64(2), o.runs.Load(), "the refresh ran, and failed")
		o.fail.Store(false)

		time.Sleep(ttl - ttl/4) // just expired, within the hold: a miss stores a new entry
		require.Equal(t, "result #3", get())
		time.Sleep(ttl/4 + 50*time.Millisecond) // the new entry is due, and the hold of d/4 not over
		require.Equal(t, "result #3", get())
		synctest.Wait()
		assert.Equal(t, int64(4), o.runs.Load(), "the new entry, due, was not refreshed: held by the failure before it")
	})
}
