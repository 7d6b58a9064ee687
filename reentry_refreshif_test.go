package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

type zzForceKey struct{}

// A forced call (RefreshIf) whose fn asks for its own key with its context
// (the inner call is forced too: same context) leaves stored the outer
// call's result, which the forced call returned, as an unforced call does:
// not the innermost level's.
func TestMemoizeForcedFnAskingForItsOwnKeyStoresTheOuterResult(t *testing.T) {
	c := newReentryCache(t)
	var depth atomic.Int32
	var m *Memoized[string, int]
	m = Memoize(c, "selfforced", func(ctx context.Context, a string) (int, error) {
		if depth.Add(1) < 3 {
			n, err := m.Get(ctx, a)
			return n + 1, err
		}
		return 1, nil
	}, RefreshIf(func(ctx context.Context, _ string) bool { return ctx.Value(zzForceKey{}) != nil }))
	var n int
	var err error
	forced := context.WithValue(context.Background(), zzForceKey{}, true)
	testutil.Returns(t, "forced Get", 5*time.Second, func() { n, err = m.Get(forced, "a") })
	require.NoError(t, err)
	require.Equal(t, 3, n)
	depth.Store(100) // a computation now returns 1 at once
	testutil.Returns(t, "Get", 5*time.Second, func() { n, err = m.Get(context.Background(), "a") })
	require.NoError(t, err)
	require.Equal(t, 3, n, "the stored result is not the one the forced call returned (an inner level's)")
}
