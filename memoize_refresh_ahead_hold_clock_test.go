package caching

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdMemo is a memoized function under RefreshAhead(4s) whose refresh
// failed, for the hold tests: its first result ("long #1") was stored at
// 0 s, fresh for a minute; at 59.8 s, due, its refresh ran and failed,
// which holds its key for a second. Results stored after are "short #N",
// fresh for the short life given. Its Cache's wall clock is stepped back
// by back. Run in a synctest bubble.
type holdMemo struct {
	m              *Memoized[int, string]
	back, runs     atomic.Int64
	failing, short atomic.Bool
}

func newHoldMemo(t *testing.T, short time.Duration) *holdMemo {
	hm := newHoldMemoFunc(t, short)
	require.Equal(t, "long #1", hm.get(t)) // fresh until 60 s
	time.Sleep(59800 * time.Millisecond)   // 59.8 s: due
	hm.failing.Store(true)
	require.Equal(t, "long #1", hm.get(t))
	synctest.Wait()
	require.Equal(t, int64(2), hm.runs.Load(), "the refresh ran, and failed: held until 60.8 s")
	hm.failing.Store(false)
	hm.short.Store(true)
	return hm
}

// newHoldMemoFunc is newHoldMemo's function, before any call: its results
// "long #N" are fresh for a minute, "short #N" for short.
func newHoldMemoFunc(t *testing.T, short time.Duration) *holdMemo {
	hm := &holdMemo{}
	clock := func() time.Time { return time.Now().Add(-time.Duration(hm.back.Load())) }
	c := Must(&Options{Backend: newSimple(t, nil), Clock: clock})
	t.Cleanup(func() { c.Close() })
	hm.m = Memoize(c, "hold", func(context.Context, int) (string, error) {
		n := hm.runs.Add(1)
		if hm.failing.Load() {
			return "", errors.New("down")
		}
		if hm.short.Load() {
			return fmt.Sprintf("short #%d", n), nil
		}
		return fmt.Sprintf("long #%d", n), nil
	}, TTL(time.Hour), RefreshAhead(4*time.Second), ResultTTL(func(r string) time.Duration {
		if r[0] == 's' {
			return short
		}
		return time.Minute
	}))
	return hm
}

func (hm *holdMemo) get(t *testing.T) string {
	v, err := hm.m.Get(context.Background(), 1)
	require.NoError(t, err)
	return v
}

// TestMemoizeRefreshAheadHoldClockSteppedBack: the hold of a memoized
// function's failed RefreshAhead refresh kept off the refreshes of every
// entry stored at or before the failed one by the clock, and so the
// refresh of a result stored after it once the wall clock had been
// stepped back (its Created earlier than the failed entry's): due, with a
// ResultTTL under the hold, it expired in front of a caller. A hold keeps
// off the failed entry, and an entry its clock says is older only while
// that stays fresh past the hold.
func TestMemoizeRefreshAheadHoldClockSteppedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { holdShortRefreshed(t, 2*time.Minute) })
}

// holdShortRefreshed: a result stored after a failed refresh's hold began,
// fresh for 0.5 s, with the wall clock stepped back by back before, is
// refreshed when due, within the hold.
func holdShortRefreshed(t *testing.T, back time.Duration) {
	hm := newHoldMemo(t, 500*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // 60.1 s: expired, within the hold
	hm.back.Store(int64(back))
	require.Equal(t, "short #3", hm.get(t), "a miss stored a new result, fresh for 0.5 s")
	time.Sleep(200 * time.Millisecond) // 60.3 s: the new entry is due, the hold not over
	require.Equal(t, "short #3", hm.get(t))
	synctest.Wait()
	assert.Equal(t, int64(4), hm.runs.Load(), "the new entry, due, was not refreshed: held by the failure before it")
}

// TestMemoizeRefreshAheadHoldKeepsOffOlderFreshPast: an entry that is not
// the one whose refresh failed, older by its Created (a replica that lags,
// or a clock stepped back), stays held while it is fresh past the hold:
// letting each such entry through would run the failing function again
// on every hit that reads it.
func TestMemoizeRefreshAheadHoldKeepsOffOlderFreshPast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hm := newHoldMemo(t, 2*time.Second)
		time.Sleep(300 * time.Millisecond)    // 60.1 s: expired, within the hold
		hm.back.Store(int64(2 * time.Minute)) // the wall clock reads -59.9 s
		require.Equal(t, "short #3", hm.get(t), "a miss stored a new result, fresh for 2 s, stored at -59.9 s")
		hm.failing.Store(true)
		time.Sleep(600 * time.Millisecond) // 60.7 s: due, fresh past the hold
		require.Equal(t, "short #3", hm.get(t))
		synctest.Wait()
		assert.Equal(t, int64(3), hm.runs.Load(), "refreshed within the hold, though fresh past it")

		time.Sleep(200 * time.Millisecond) // 60.9 s: the hold is over
		hm.failing.Store(false)
		require.Equal(t, "short #3", hm.get(t))
		synctest.Wait()
		assert.Equal(t, int64(4), hm.runs.Load(), "not refreshed once the hold ended")
	})
}

// TestMemoizeRefreshAheadHoldLetsNewerFreshPastThrough: an entry stored
// after the one whose refresh failed, by its Created (a miss's, once that
// one expired: a run of the function that just succeeded), is refreshed
// when due within the hold, though it stays fresh past it: the hold keeps
// off the failed entry and older ones, not a newer one (none of the other
// hold tests fails with that case taken out).
func TestMemoizeRefreshAheadHoldLetsNewerFreshPastThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hm := newHoldMemo(t, 2*time.Second)
		time.Sleep(300 * time.Millisecond) // 60.1 s: expired, within the hold
		require.Equal(t, "short #3", hm.get(t), "a miss stored a new result, fresh for 2 s")
		time.Sleep(600 * time.Millisecond) // 60.7 s: due, fresh past the hold
		require.Equal(t, "short #3", hm.get(t))
		synctest.Wait()
		assert.Equal(t, int64(4), hm.runs.Load(), "the newer entry, due, was held by the failure before it")
	})
}
