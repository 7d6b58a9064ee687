package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// A memoized function with a Lease that asks for its own key with its
// context computes inline at once (as without the Lease): it must not wait
// for the lease its own outer computation holds.
func TestMemoizeLeasedFnAskingForItsOwnKeyDoesNotWaitForItsOwnLease(t *testing.T) {
	c := newReentryCache(t)
	var depth atomic.Int32
	var m *Memoized[string, int]
	m = Memoize(c, "selfleased", func(ctx context.Context, a string) (int, error) {
		if depth.Add(1) < 3 {
			n, err := m.Get(ctx, a)
			return n + 1, err
		}
		return 1, nil
	}, Lease(3*time.Second))
	var n int
	var err error
	start := time.Now()
	testutil.Returns(t, "Get", 5*time.Second, func() { n, err = m.Get(context.Background(), "a") })
	took := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Less(t, took, time.Second, "each nested call waited for the lease its own outer computation holds")
}
