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

// TestMemoizeTakerUnstoredLeavesStuckRefreshResult: a miss that takes a
// stuck background refresh over and whose own computation stores nothing
// (fn fails, or its result is refused: SkipZero here) leaves the key to
// the refresh: when it ends, its result, read before the taker's attempt
// but the only one there is, is stored (a replacement stores where
// nothing was stored since) and served, as it would have been with no
// takeover, rather than the key staying a miss. A taker that stores wins
// (TestMemoizeMissTakesOverStuckRefresh).
func TestMemoizeTakerUnstoredLeavesStuckRefreshResult(t *testing.T) {
	errDep := errors.New("dependency down")
	for _, tc := range []struct {
		name    string
		third   func() (string, error)
		wantErr error
	}{
		{"taker fails", func() (string, error) { return "", errDep }, errDep},
		{"taker refused", func() (string, error) { return "", nil }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				release := make(chan struct{})
				var n atomic.Int32
				m := Memoize(c, "taker-unstored", func(context.Context, int) (string, error) {
					i := n.Add(1)
					switch i {
					case 2:
						<-release // the refresh, stuck
					case 3:
						return tc.third()
					}
					return fmt.Sprintf("v%d", i), nil
				}, TTL(time.Second), StaleWhileRevalidate(time.Second), SkipZero())
				v, err := getWithin(m, 1)
				require.NoError(t, err)
				require.Equal(t, "v1", v)
				time.Sleep(1500 * time.Millisecond)
				v, err = getWithin(m, 1) // stale: starts the refresh, which sticks
				require.NoError(t, err)
				require.Equal(t, "v1", v)
				time.Sleep(time.Hour) // past the stale window and the bound
				v, err = getWithin(m, 1)
				assert.ErrorIs(t, err, tc.wantErr)
				assert.Empty(t, v)
				require.EqualValues(t, 1, c.Stats().CollapseTakeovers, "the miss took the refresh over")

				close(release) // the stuck refresh ends, with the only result
				synctest.Wait()
				v, err = getWithin(m, 1)
				assert.NoError(t, err)
				assert.Equal(t, "v2", v, "the refresh's result is stored and served")
				assert.EqualValues(t, 3, n.Load())
			})
		})
	}
}
