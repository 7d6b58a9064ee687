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

// TestMemoizeBackgroundRefreshTakesOverStuckRefresh: a background refresh
// that joins a computation of its argument stuck on a hung dependency (a
// Refresh's) waits for it as a Get does, until it has run for the
// function's collapse bound, no longer: it then computes in its place and
// stores its result, rather than hold its refresh slot, and leave the
// entry stale, for as long as the stuck computation hangs.
func TestMemoizeBackgroundRefreshTakesOverStuckRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		stuck := make(chan struct{})
		var n atomic.Int32
		m := Memoize(c, "refresh-joins-stuck", func(_ context.Context, a int) (string, error) {
			i := n.Add(1)
			if i == 2 {
				<-stuck // the Refresh's computation, stuck
			}
			return fmt.Sprintf("v%d", i), nil
		}, TTL(time.Second), StaleWhileRevalidate(time.Hour))
		v, err := getWithin(m, 1)
		require.NoError(t, err)
		require.Equal(t, "v1", v)
		time.Sleep(2 * time.Second) // stale
		refreshed := make(chan struct{})
		go func() {
			defer close(refreshed)
			_, _ = m.Refresh(context.Background(), 1)
		}()
		synctest.Wait()
		require.EqualValues(t, 2, n.Load(), "the Refresh computes, stuck")
		v, err = getWithin(m, 1) // stale: its background refresh joins the stuck one
		require.NoError(t, err)
		require.Equal(t, "v1", v)
		synctest.Wait()
		assert.EqualValues(t, 2, n.Load(), "within the bound, the background refresh waits")

		time.Sleep(DefaultCollapseTimeout)
		synctest.Wait()
		assert.EqualValues(t, 3, n.Load(), "past the bound, it computes in the stuck one's place")
		v, err = getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, "v3", v, "and stores its result")

		close(stuck)
		<-refreshed
		synctest.Wait()
		v, err = getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, "v3", v, "the stuck computation's older result replaced nothing")
	})
}
