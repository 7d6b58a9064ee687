package caching

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestMemoizeAheadHitDuringRefreshAllocatesNothing: under RefreshAhead, a
// fresh hit within the refresh window while the key's refresh already runs
// starts no refresh, and allocates nothing, as any fresh hit. The key was
// made a string before the refresh was asked for: 1 allocation per hit.
func TestMemoizeAheadHitDuringRefreshAllocatesNothing(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		release := make(chan struct{})
		defer close(release)
		block := false
		m := Memoize(c, "ahead-alloc", func(ctx context.Context, n int) (int, error) {
			if block {
				<-release
			}
			return n, nil
		}, TTL(time.Minute), RefreshAhead(30*time.Second))
		ctx := context.Background()
		_, err = m.Get(ctx, 4)
		require.NoError(t, err)
		assert.Zero(t, testutil.AllocsPerRun(50, func() { _, _ = m.Get(ctx, 4) }), "a fresh hit outside the window")
		time.Sleep(45 * time.Second) // fresh, within the RefreshAhead window
		block = true
		_, _ = m.Get(ctx, 4) // starts the refresh, which blocks
		synctest.Wait()
		allocs := testutil.AllocsPerRun(50, func() { _, _ = m.Get(ctx, 4) })
		assert.Zero(t, allocs, "a fresh hit that starts no refresh allocated")
	})
}

// TestMemoizeStaleHitDuringRefreshAllocatesNothing: under
// StaleWhileRevalidate, a stale hit while the key's refresh runs starts
// none, and makes no string of its key either: on the in-process store it
// allocates nothing.
func TestMemoizeStaleHitDuringRefreshAllocatesNothing(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		release := make(chan struct{})
		defer close(release)
		block := false
		m := Memoize(c, "stale-alloc", func(ctx context.Context, n int) (int, error) {
			if block {
				<-release
			}
			return n, nil
		}, TTL(time.Minute), StaleWhileRevalidate(time.Hour))
		ctx := context.Background()
		_, err = m.Get(ctx, 4)
		require.NoError(t, err)
		time.Sleep(2 * time.Minute) // expired, within the stale window
		block = true
		_, _ = m.Get(ctx, 4) // starts the refresh, which blocks
		synctest.Wait()
		allocs := testutil.AllocsPerRun(50, func() { _, _ = m.Get(ctx, 4) })
		assert.Zero(t, allocs, "a stale hit that starts no refresh allocated")
	})
}
