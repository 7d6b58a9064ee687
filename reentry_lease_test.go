package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// A memoized function with a Lease that asks for its own key with its
// context computes inline at once (as without the Lease): it must not wait
// for the lease its own outer computation holds. In a synctest bubble, whose
// clock moves only while every goroutine waits: the nested calls wait for
// nothing, and take no time on it; one that waited for the lease would take
// the lease's hour.
func TestMemoizeLeasedFnAskingForItsOwnKeyDoesNotWaitForItsOwnLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lease = time.Hour
		c := newReentryCache(t)
		var depth atomic.Int32
		var m *Memoized[string, int]
		m = Memoize(c, "selfleased", func(ctx context.Context, a string) (int, error) {
			if depth.Add(1) < 3 {
				n, err := m.Get(ctx, a)
				return n + 1, err
			}
			return 1, nil
		}, Lease(lease))
		start := time.Now()
		n, err := m.Get(context.Background(), "a")
		took := time.Since(start)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.Less(t, took, lease, "each nested call waited for the lease its own outer computation holds")
	})
}
