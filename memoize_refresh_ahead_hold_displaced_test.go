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

// TestMemoizeRefreshAheadHoldDisplacedPutBack: the refresh of an older
// entry (read by a hit just before a newer one was stored) that a hold let
// through, the older entry being near its end, took the hold's place, found
// the newer entry stored (replacedSince), ran nothing, and deleted the
// hold: the next hit of the newer entry, whose refresh had failed, ran the
// failing function again within the hold. The hold it displaced is put
// back, and still ends when it would have.
func TestMemoizeRefreshAheadHoldDisplacedPutBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hm := newHoldMemoFunc(t, 4*time.Second)
		require.Equal(t, "long #1", hm.get(t)) // fresh until 60 s
		time.Sleep(59200 * time.Millisecond)   // 59.2 s: due, fresh for 0.8 s more
		var asked atomic.Int32
		memoRefreshAskedHook = func(string) {
			if asked.Add(1) != 1 {
				return // the newer entry's refresh, below
			}
			// Between the hit's read of "long #1" and its refresh: a newer
			// result is stored, and its own refresh, once due, fails.
			hm.short.Store(true)
			v, err := hm.m.Refresh(context.Background(), 1)
			require.NoError(t, err)
			require.Equal(t, "short #2", v) // fresh until 63.2 s, due at 60.2 s
			time.Sleep(1100 * time.Millisecond)
			hm.failing.Store(true)
			require.Equal(t, "short #2", hm.get(t)) // 60.3 s
			synctest.Wait()
			require.Equal(t, int64(3), hm.runs.Load(), "the newer entry's refresh ran, and failed: held until 61.3 s")
		}
		defer func() { memoRefreshAskedHook = nil }()
		// The older entry's refresh: it would expire (at 60 s) within the
		// hold, which lets it through, and it finds the newer entry stored.
		require.Equal(t, "long #1", hm.get(t))
		synctest.Wait()
		memoRefreshAskedHook = nil
		require.EqualValues(t, 2, asked.Load())
		require.Equal(t, int64(3), hm.runs.Load(), "the older entry's refresh ran nothing")

		time.Sleep(100 * time.Millisecond) // 60.4 s: within the hold
		require.Equal(t, "short #2", hm.get(t))
		synctest.Wait()
		assert.Equal(t, int64(3), hm.runs.Load(), "the failing function ran again within the hold")

		time.Sleep(time.Second) // 61.4 s: the hold is over
		require.Equal(t, "short #2", hm.get(t))
		synctest.Wait()
		assert.Equal(t, int64(4), hm.runs.Load(), "the hold put back did not end")
	})
}
