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

// TestMemoizeStaleHitDuringRefreshCopiesNothing: under
// StaleWhileRevalidate every hit of an expired entry asks for a refresh;
// while one runs, such a hit starts none and copies nothing of its
// argument (the copy is for a refresh that starts): it allocates no more
// than a stale hit of an argument that holds no references.
func TestMemoizeStaleHitDuringRefreshCopiesNothing(t *testing.T) {
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
		ids := []string{"a", "b", "c", "d"} // a key short enough for the stack
		slice := Memoize(c, "stale-copy-slice", func(ctx context.Context, ids []string) (int, error) {
			if block {
				<-release
			}
			return len(ids), nil
		}, TTL(time.Minute), StaleWhileRevalidate(time.Hour))
		num := Memoize(c, "stale-copy-int", func(ctx context.Context, n int) (int, error) {
			if block {
				<-release
			}
			return n, nil
		}, TTL(time.Minute), StaleWhileRevalidate(time.Hour))
		ctx := context.Background()
		_, err = slice.Get(ctx, ids)
		require.NoError(t, err)
		_, err = num.Get(ctx, 4)
		require.NoError(t, err)
		time.Sleep(2 * time.Minute) // expired, within the stale window
		block = true
		_, _ = slice.Get(ctx, ids) // starts the refresh, which blocks
		_, _ = num.Get(ctx, 4)
		synctest.Wait()
		sliceAllocs := testutil.AllocsPerRun(50, func() { _, _ = slice.Get(ctx, ids) })
		numAllocs := testutil.AllocsPerRun(50, func() { _, _ = num.Get(ctx, 4) })
		assert.LessOrEqual(t, sliceAllocs, numAllocs, "a stale hit while the refresh runs copied its argument")
	})
}
