package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type staleHitSess struct{ id, user string }

func (s *staleHitSess) CacheKey() string { return s.id }

type staleHitQuery struct{ S *staleHitSess }

// TestMemoizeStaleHitWhileRefreshRunsMakesNoArgument: under
// StaleWhileRevalidate every hit of a stale entry asks for a refresh;
// while the refresh of the key runs (or all maxRefreshes slots are taken)
// it starts nothing, and neither copies its argument nor calls ArgTags
// (the in-process lookup does not call it either).
func TestMemoizeStaleHitWhileRefreshRunsMakesNoArgument(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	release := make(chan struct{})
	defer c.Close()
	defer close(release)
	var calls, tagCalls atomic.Int32
	m := Memoize(c, "stale-hit-argtags", func(_ context.Context, q staleHitQuery) (string, error) {
		if calls.Add(1) > 1 {
			<-release // the background refresh runs on
		}
		return "data of " + q.S.user, nil
	}, TTL(time.Hour), StaleWhileRevalidate(time.Hour),
		StaleIf(func(string) bool { return true }), // every hit is of a stale entry
		ArgTags(func(q staleHitQuery) []string { tagCalls.Add(1); return []string{"user:" + q.S.user} }))
	q := staleHitQuery{S: &staleHitSess{id: "s1", user: "alice"}}
	ctx := context.Background()
	_, err = m.Get(ctx, q) // miss: computed, stored
	require.NoError(t, err)
	_, err = m.Get(ctx, q) // stale hit: starts the refresh, which blocks
	require.NoError(t, err)
	for i := 0; calls.Load() < 2 && i < 2000; i++ {
		time.Sleep(time.Millisecond)
	}
	require.EqualValues(t, 2, calls.Load(), "the refresh did not start")

	before := tagCalls.Load()
	const hits = 100
	for range hits {
		_, err := m.Get(ctx, q)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, calls.Load(), "no second refresh while one runs")
	assert.Zero(t, tagCalls.Load()-before,
		"ArgTags (and the argument's copies) made by stale hits that start no refresh, one refresh of the key already running")
}
