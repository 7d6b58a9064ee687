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

// TestMemoizeRefreshAheadHoldClockSteppedBack: the hold of a memoized
// function's failed RefreshAhead refresh kept off the refreshes of every
// entry stored at or before the failed one by the clock, and so the
// refresh of a result stored after it once the wall clock had been
// stepped back (its Created earlier than the failed entry's): due, with a
// ResultTTL under the hold, it expired in front of a caller. A hold keeps
// off the failed entry, and an entry its clock says is older only while
// that stays fresh past the hold.
func TestMemoizeRefreshAheadHoldClockSteppedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var back atomic.Int64 // how far the wall clock is stepped back
		clock := func() time.Time { return time.Now().Add(-time.Duration(back.Load())) }
		c := Must(&Options{Backend: newSimple(t, nil), Clock: clock})
		defer c.Close()
		var failing, short atomic.Bool
		var runs atomic.Int64
		m := Memoize(c, "hold-clock", func(context.Context, int) (string, error) {
			n := runs.Add(1)
			if failing.Load() {
				return "", errors.New("down")
			}
			if short.Load() {
				return fmt.Sprintf("short #%d", n), nil
			}
			return fmt.Sprintf("long #%d", n), nil
		}, TTL(time.Hour), RefreshAhead(4*time.Second), ResultTTL(func(r string) time.Duration {
			if r[0] == 's' {
				return 500 * time.Millisecond
			}
			return time.Minute
		}))
		ctx := context.Background()
		got := func() string {
			v, err := m.Get(ctx, 1)
			require.NoError(t, err)
			return v
		}
		require.Equal(t, "long #1", got())   // fresh until 60 s
		time.Sleep(59800 * time.Millisecond) // 59.8 s: due
		failing.Store(true)
		require.Equal(t, "long #1", got())
		synctest.Wait()
		require.Equal(t, int64(2), runs.Load(), "the refresh ran, and failed: held for a second")
		failing.Store(false)
		short.Store(true)

		time.Sleep(300 * time.Millisecond) // 60.1 s: expired, within the hold
		back.Store(int64(2 * time.Minute)) // the wall clock reads -59.9 s
		require.Equal(t, "short #3", got(), "a miss stored a new result, fresh for 0.5 s, stored at -59.9 s")
		time.Sleep(200 * time.Millisecond) // 60.3 s: the new entry is due, the hold not over
		require.Equal(t, "short #3", got())
		synctest.Wait()
		assert.Equal(t, int64(4), runs.Load(), "the new entry, due, was not refreshed: held by the failure before it")
	})
}

// TestMemoizeRefreshAheadHoldKeepsOffOlderFreshPast: an entry that is not
// the one whose refresh failed, older by its Created (a replica that lags,
// or a clock stepped back), stays held while it is fresh past the hold:
// letting each such entry through would run the failing function again
// on every hit that reads it.
func TestMemoizeRefreshAheadHoldKeepsOffOlderFreshPast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var back atomic.Int64 // how far the wall clock is stepped back
		clock := func() time.Time { return time.Now().Add(-time.Duration(back.Load())) }
		c := Must(&Options{Backend: newSimple(t, nil), Clock: clock})
		defer c.Close()
		var failing, short atomic.Bool
		var runs atomic.Int64
		m := Memoize(c, "hold-older", func(context.Context, int) (string, error) {
			n := runs.Add(1)
			if failing.Load() {
				return "", errors.New("down")
			}
			if short.Load() {
				return fmt.Sprintf("short #%d", n), nil
			}
			return fmt.Sprintf("long #%d", n), nil
		}, TTL(time.Hour), RefreshAhead(4*time.Second), ResultTTL(func(r string) time.Duration {
			if r[0] == 's' {
				return 2 * time.Second
			}
			return time.Minute
		}))
		ctx := context.Background()
		got := func() string {
			v, err := m.Get(ctx, 1)
			require.NoError(t, err)
			return v
		}
		require.Equal(t, "long #1", got())   // fresh until 60 s
		time.Sleep(59800 * time.Millisecond) // 59.8 s: due
		failing.Store(true)
		require.Equal(t, "long #1", got())
		synctest.Wait()
		require.Equal(t, int64(2), runs.Load(), "the refresh ran, and failed: held until 60.8 s")

		time.Sleep(300 * time.Millisecond) // 60.1 s: expired, within the hold
		failing.Store(false)
		short.Store(true)
		back.Store(int64(2 * time.Minute)) // the wall clock reads -59.9 s
		require.Equal(t, "short #3", got(), "a miss stored a new result, fresh for 2 s, stored at -59.9 s")
		failing.Store(true)
		time.Sleep(600 * time.Millisecond) // 60.7 s: due, fresh past the hold
		require.Equal(t, "short #3", got())
		synctest.Wait()
		assert.Equal(t, int64(3), runs.Load(), "refreshed within the hold, though fresh past it")

		time.Sleep(200 * time.Millisecond) // 60.9 s: the hold is over
		failing.Store(false)
		require.Equal(t, "short #3", got())
		synctest.Wait()
		assert.Equal(t, int64(4), runs.Load(), "not refreshed once the hold ended")
	})
}
