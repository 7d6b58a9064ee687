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

// TestMemoizeRefreshAheadJoinsUnstoredGetEndsHold: a newer entry's
// RefreshAhead refresh, which a hold (of an older entry's failed refresh,
// read from a lagging replica) let through, joins a Get's computation of
// the same argument (a miss, begun since the newer entry was stored)
// whose result StoreIf refuses. The joined computation returned a result:
// the refresh is no failure, holds nothing off, and ends the hold whose
// place it took; the newer entry stays. The held entry's next due hit,
// within what was its hold, runs the function once more (README,
// "Background work"; RefreshAhead).
func TestMemoizeRefreshAheadJoinsUnstoredGetEndsHold(t *testing.T) {
	memoJoinedUnstoredInHold(t, 300*time.Millisecond) // 57.3 s: the newer entry fresh for 0.2 s, and due
}

// TestMemoizeStaleRefreshJoinsUnstoredGetEndsHold is
// TestMemoizeRefreshAheadJoinsUnstoredGetEndsHold for a stale entry's
// refresh (StaleWhileRevalidate), which a hold does not keep off: it
// ends the hold, as one that renews the entry does.
func TestMemoizeStaleRefreshJoinsUnstoredGetEndsHold(t *testing.T) {
	memoJoinedUnstoredInHold(t, 600*time.Millisecond) // 57.6 s: the newer entry stale for 0.1 s
}

// memoJoinedUnstoredInHold runs, on a lagMemo under StaleWhileRevalidate
// whose results StoreIf refuses while refuse is set: long #1, fresh until
// 60 s (due from 56 s), and short #2, stored at 53.5 s, fresh until
// 57.5 s. At 57 s long #1's refresh fails: a hold until 58 s. after that,
// short #2's refresh (RefreshAhead's, or a stale entry's) takes the
// hold's place and joins a Get's miss of the same argument, whose result
// is refused. 0.1 s later, within the hold, long #1's due hit runs the
// function: the hold has ended.
func memoJoinedUnstoredInHold(t *testing.T, after time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var refuse atomic.Bool
		lm := newLagMemo(t, StaleWhileRevalidate(30*time.Second), StoreIf(func(string) bool { return !refuse.Load() }))
		key, err := lm.m.Key(1)
		require.NoError(t, err)
		require.Equal(t, "long #1", lm.hit(t)) // fresh until 60 s, due from 56 s
		time.Sleep(53500 * time.Millisecond)   // 53.5 s
		lm.short.Store(true)
		v, err := lm.m.Refresh(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "short #2", v)     // fresh until 57.5 s, due from 54.5 s
		time.Sleep(3500 * time.Millisecond) // 57 s

		lm.ls.lag.Store(true)
		lm.failing.Store(true)
		require.Equal(t, "long #1", lm.hit(t), "the replica returns the older entry, due")
		require.Equal(t, int64(3), lm.runs.Load(), "the older entry's refresh ran, and failed: held until 58 s")
		lm.failing.Store(false)
		lm.ls.lag.Store(false)

		// Once short #2's refresh has read the entry again, and before it
		// joins or starts a computation, a Get of the same argument reads
		// a replica that has not seen the key: a miss, whose function is
		// held, and whose result StoreIf is to refuse.
		get := newHeldCall(false)
		got := make(chan string, 1)
		var armed atomic.Bool
		armed.Store(true)
		memoRefreshCheckedHook = func(k string, replaced bool) {
			if k != key || !armed.CompareAndSwap(true, false) {
				return
			}
			assert.False(t, replaced)
			lm.ls.miss.Store(true)
			refuse.Store(true)
			lm.held.Store(get)
			go func() {
				v, err := lm.m.Get(ctx, 1)
				assert.NoError(t, err)
				got <- v
			}()
			<-get.entered
			lm.ls.miss.Store(false)
		}
		t.Cleanup(func() { memoRefreshCheckedHook = nil })

		time.Sleep(after)
		require.Equal(t, "short #2", lm.hit(t), "the newer entry is served, and its refresh starts")
		require.False(t, armed.Load(), "the newer entry's refresh did not run")
		require.Equal(t, 2, lm.m.calls.Waiters(key), "the refresh did not join the Get's computation")
		require.Equal(t, int64(4), lm.runs.Load(), "the function ran for the Get alone")
		close(get.release)
		assert.Equal(t, "short #4", <-got, "the Get gets its result")
		synctest.Wait() // the refresh ended
		refuse.Store(false)
		assert.Equal(t, int64(4), lm.runs.Load(), "the refresh that joined the Get ran the function again")
		v, _, err = lm.m.Peek(ctx, 1)
		require.NoError(t, err, "the Get's miss, not stored, removed the entry")
		assert.Equal(t, "short #2", v, "the entry stays")

		time.Sleep(100 * time.Millisecond) // within the hold, until 58 s
		lm.ls.lag.Store(true)
		require.Equal(t, "long #1", lm.hit(t))
		assert.Equal(t, int64(5), lm.runs.Load(), "the refresh that joined the Get's unstored result kept the hold it took the place of: the held entry's due refresh was kept off")
	})
}
