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

// TestViewRefreshAheadHoldStaleRenewed: a stale entry's refresh that took
// the place of a hold (a failed refresh of an older entry, read from a
// lagging replica) and renewed the entry ends the hold: the origin works
// again, and the held entry, read again from the replica, is refreshed at
// its next due hit, within the hold, not at its end. (The renewed entry,
// newer, is kept off by no hold: the held one shows it.) A hold put back
// after a renewal too, as after a refresh that renews nothing, passed
// every other test.
func TestViewRefreshAheadHoldStaleRenewed(t *testing.T) {
	viewStaleRefreshInHold(t, true)
}

// TestMemoizeRefreshAheadHoldStaleRenewed is
// TestViewRefreshAheadHoldStaleRenewed for a memoized function.
func TestMemoizeRefreshAheadHoldStaleRenewed(t *testing.T) {
	memoStaleRefreshInHold(t, true)
}

// TestViewRefreshAheadHoldStaleFailed: a stale entry's refresh (a newer
// entry, past its freshness, within StaleWhileRevalidate) took the place
// of the hold of a failed refresh (of an older entry, read from a lagging
// replica), ran, and failed. It dropped the hold: the held entry's next
// due hit, within its hold, ran the failing origin again. The refresh
// keeps the hold it took the place of until its end, and not past it.
func TestViewRefreshAheadHoldStaleFailed(t *testing.T) {
	viewStaleRefreshInHold(t, false)
}

// TestMemoizeRefreshAheadHoldStaleFailed is
// TestViewRefreshAheadHoldStaleFailed for a memoized function.
func TestMemoizeRefreshAheadHoldStaleFailed(t *testing.T) {
	memoStaleRefreshInHold(t, false)
}

// viewStaleRefreshInHold runs staleRefreshInHold on a lagView, shared and
// not, under StaleWhileRevalidate: page #1, fresh until 60 s, and page #2,
// stored at 56.5 s, fresh until 57.5 s.
func viewStaleRefreshInHold(t *testing.T, renews bool) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lv := newLagView(t, shared, StaleWhileRevalidate(30*time.Second))
				lv.swr.Store(30)
				require.Equal(t, "page #1", lv.hit(t)) // fresh until 60 s, due from 56 s
				time.Sleep(56500 * time.Millisecond)   // 56.5 s
				lv.warm(t, 1)                          // page #2: fresh until 57.5 s
				time.Sleep(500 * time.Millisecond)     // 57 s
				staleRefreshInHold(t, lagSubject{lv.ls, &lv.failing, &lv.runs, lv.hit}, "page #1", "page #2", renews)
			})
		})
	}
}

// memoStaleRefreshInHold is viewStaleRefreshInHold for a lagMemo: long
// #1, fresh until 60 s, and short #2, stored at 53.5 s, fresh until
// 57.5 s.
func memoStaleRefreshInHold(t *testing.T, renews bool) {
	synctest.Test(t, func(t *testing.T) {
		lm := newLagMemo(t, StaleWhileRevalidate(30*time.Second))
		require.Equal(t, "long #1", lm.hit(t)) // fresh until 60 s, due from 56 s
		time.Sleep(53500 * time.Millisecond)   // 53.5 s
		lm.short.Store(true)
		v, err := lm.m.Refresh(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, "short #2", v)     // fresh until 57.5 s
		time.Sleep(3500 * time.Millisecond) // 57 s
		staleRefreshInHold(t, lagSubject{lm.ls, &lm.failing, &lm.runs, lm.hit}, "long #1", "short #2", renews)
	})
}

// lagSubject is what staleRefreshInHold drives of a lagView or a lagMemo.
type lagSubject struct {
	ls      *replicaStore
	failing *atomic.Bool
	runs    *atomic.Int64
	hit     func(*testing.T) string
}

// staleRefreshInHold runs, from 57 s on, on s (older, the replica's entry,
// fresh until 60 s and due, and newer, stored since and fresh until
// 57.5 s, each run so far): the older entry's refresh fails, a hold until
// 58 s; the newer entry's, stale, takes the hold's place, and renews the
// entry if renews (the origin works again), and fails otherwise. The
// older entry's next due hit, within the hold, runs the origin if the
// hold ended (renews), and nothing otherwise, until the hold's end.
func staleRefreshInHold(t *testing.T, s lagSubject, older, newer string, renews bool) {
	s.ls.lag.Store(true)
	s.failing.Store(true)
	require.Equal(t, older, s.hit(t), "the replica returns the older entry, due")
	require.Equal(t, int64(3), s.runs.Load(), "the older entry's refresh ran, and failed: held until 58 s")
	s.failing.Store(!renews)

	time.Sleep(300 * time.Millisecond) // 57.3 s
	require.Equal(t, older, s.hit(t))
	require.Equal(t, int64(3), s.runs.Load(), "the hold kept off the older entry's due refresh")
	s.ls.lag.Store(false)

	time.Sleep(300 * time.Millisecond) // 57.6 s
	require.Equal(t, newer, s.hit(t), "the newer entry, stale for 0.1 s")
	require.Equal(t, int64(4), s.runs.Load(), "the stale entry's refresh took the hold's place, and ran")

	time.Sleep(100 * time.Millisecond) // 57.7 s: within the hold
	s.ls.lag.Store(true)
	require.Equal(t, older, s.hit(t))
	if renews {
		assert.Equal(t, int64(5), s.runs.Load(), "the hold outlived the renewal: the held entry's due refresh was kept off")
		return
	}
	assert.Equal(t, int64(4), s.runs.Load(), "the failing origin ran again for the held entry within its hold")

	time.Sleep(400 * time.Millisecond) // 58.1 s: the hold is over
	require.Equal(t, older, s.hit(t))
	assert.Equal(t, int64(5), s.runs.Load(), "the hold outlived its end")
}
