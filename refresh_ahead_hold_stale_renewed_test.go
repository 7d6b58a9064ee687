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
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lv := newLagView(t, shared, StaleWhileRevalidate(30*time.Second))
				lv.swr.Store(30)
				require.Equal(t, "page #1", lv.hit(t)) // fresh until 60 s, due from 56 s
				time.Sleep(56500 * time.Millisecond)   // 56.5 s
				lv.warm(t, 1)                          // page #2: fresh until 57.5 s
				time.Sleep(500 * time.Millisecond)     // 57 s
				staleRenewedEndsHold(t, lagSubject{lv.ls, &lv.failing, &lv.runs, lv.hit}, "page #1", "page #2")
			})
		})
	}
}

// TestMemoizeRefreshAheadHoldStaleRenewed is
// TestViewRefreshAheadHoldStaleRenewed for a memoized function.
func TestMemoizeRefreshAheadHoldStaleRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lm := newLagMemo(t, StaleWhileRevalidate(30*time.Second))
		require.Equal(t, "long #1", lm.hit(t)) // fresh until 60 s, due from 56 s
		time.Sleep(53500 * time.Millisecond)   // 53.5 s
		lm.short.Store(true)
		v, err := lm.m.Refresh(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, "short #2", v)     // fresh until 57.5 s
		time.Sleep(3500 * time.Millisecond) // 57 s
		staleRenewedEndsHold(t, lagSubject{lm.ls, &lm.failing, &lm.runs, lm.hit}, "long #1", "short #2")
	})
}

// lagSubject is what staleRenewedEndsHold drives of a lagView or a
// lagMemo.
type lagSubject struct {
	ls      *replicaStore
	failing *atomic.Bool
	runs    *atomic.Int64
	hit     func(*testing.T) string
}

// staleRenewedEndsHold runs the steps of
// TestViewRefreshAheadHoldStaleRenewed from 57 s on, on s: older, the
// replica's entry, fresh until 60 s and due, and newer, stored since and
// fresh until 57.5 s, each run so far.
func staleRenewedEndsHold(t *testing.T, s lagSubject, older, newer string) {
	s.ls.lag.Store(true)
	s.failing.Store(true)
	require.Equal(t, older, s.hit(t), "the replica returns the older entry, due")
	require.Equal(t, int64(3), s.runs.Load(), "the older entry's refresh ran, and failed: held until 58 s")
	s.failing.Store(false)

	time.Sleep(300 * time.Millisecond) // 57.3 s
	require.Equal(t, older, s.hit(t))
	require.Equal(t, int64(3), s.runs.Load(), "the hold kept off the older entry's due refresh")
	s.ls.lag.Store(false)

	time.Sleep(300 * time.Millisecond) // 57.6 s
	require.Equal(t, newer, s.hit(t), "the newer entry, stale for 0.1 s")
	require.Equal(t, int64(4), s.runs.Load(), "the stale entry's refresh took the hold's place, ran, and renewed the entry")

	time.Sleep(100 * time.Millisecond) // 57.7 s: within the hold
	s.ls.lag.Store(true)
	require.Equal(t, older, s.hit(t))
	assert.Equal(t, int64(5), s.runs.Load(), "the hold outlived the renewal: the held entry's due refresh was kept off")
}
