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

// TestMemoizeRefreshAheadHoldEndsForShorterNewEntry: the hold of a
// memoized function's failed RefreshAhead refresh (a quarter of d, at most
// a second, and at most a quarter of the refreshed entry's lifetime) kept
// off the refresh of an entry stored after it whose ResultTTL was shorter
// than a second: the new entry, due, was not refreshed, and it expired in
// front of a caller (a miss that waited for the function). A hold keeps
// off only the refreshes of the entry whose refresh failed, as a view's
// does.
func TestMemoizeRefreshAheadHoldEndsForShorterNewEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var failing, short atomic.Bool
		var runs atomic.Int64
		m := Memoize(c, "hold-shorter", func(context.Context, int) (string, error) {
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
		require.Equal(t, "short #3", got(), "a miss stored a new result, fresh until 60.6 s")
		time.Sleep(200 * time.Millisecond) // 60.3 s: the new entry is due, the hold not over
		require.Equal(t, "short #3", got())
		synctest.Wait()
		assert.Equal(t, int64(4), runs.Load(), "the new entry, due, was not refreshed: held by the failure before it")
	})
}
