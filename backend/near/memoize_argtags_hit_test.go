package near_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
)

// userTag is the tag of the test's function, made once: a tag function
// that returns it allocates nothing itself.
var userTag = []string{"user:7"}

// TestNearArgTagsHitCostsWhatAnUntaggedOneDoes: a memoized function with
// ArgTags found in the near cache reads nothing remote, does not call its
// tag function, and allocates no more than a near hit of a function
// without ArgTags. Another process's InvalidateTags of its tag still makes
// the next Get compute again; that Get, which must read the remote store,
// calls the tag function.
func TestNearArgTagsHitCostsWhatAnUntaggedOneDoes(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	p := newProcess(t, b, near.Options{}, caching.Options{})
	other := newProcess(t, b, near.Options{}, caching.Options{})
	var calls, tagCalls atomic.Int64
	tagged := caching.Memoize(p.c, "stats", func(context.Context, int) (int64, error) { return calls.Add(1), nil },
		caching.ArgTags(func(int) []string { tagCalls.Add(1); return userTag }))
	plain := caching.Memoize(p.c, "plain", func(context.Context, int) (int64, error) { return 1, nil })
	for range 2 { // stored, then read remote and kept near
		_, err := tagged.Get(ctx, 7)
		require.NoError(t, err)
		_, err = plain.Get(ctx, 7)
		require.NoError(t, err)
	}
	reads, tagCallsBefore := p.view.readCount(), tagCalls.Load()
	hit := func(m *caching.Memoized[int, int64]) func() {
		return func() {
			if v, err := m.Get(ctx, 7); err != nil || v != 1 {
				t.Fatalf("Get = %d, %v; want the stored 1", v, err)
			}
		}
	}
	taggedAllocs, plainAllocs := testing.AllocsPerRun(100, hit(tagged)), testing.AllocsPerRun(100, hit(plain))
	assert.Equal(t, reads, p.view.readCount(), "a near hit read the remote store")
	assert.Equal(t, tagCallsBefore, tagCalls.Load(), "a near hit called the tag function")
	assert.LessOrEqual(t, taggedAllocs, plainAllocs, "a near hit with ArgTags allocates more than one without")

	require.NoError(t, other.c.InvalidateTags(ctx, "user:7"))
	v, err := tagged.Get(ctx, 7)
	require.NoError(t, err)
	assert.EqualValues(t, 2, v, "the Get after the other process's InvalidateTags computes again")
	assert.Greater(t, tagCalls.Load(), tagCallsBefore, "a Get that reads the remote store calls the tag function")
}

// TestNearArgTagsMissProbesMemoryOnce: a Get that misses looks in the near
// cache once, with or without ArgTags, before it reads the remote store:
// NearStats counts one miss for it either way.
func TestNearArgTagsMissProbesMemoryOnce(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	p := newProcess(t, b, near.Options{}, caching.Options{})
	tagged := caching.Memoize(p.c, "stats", func(context.Context, int) (int64, error) { return 1, nil },
		caching.ArgTags(func(int) []string { return userTag }))
	plain := caching.Memoize(p.c, "plain", func(context.Context, int) (int64, error) { return 1, nil })
	misses := func(m *caching.Memoized[int, int64], a int) int64 {
		before := p.near.NearStats().Misses
		_, err := m.Get(ctx, a)
		require.NoError(t, err)
		return p.near.NearStats().Misses - before
	}
	assert.Equal(t, misses(plain, 1), misses(tagged, 1), "near misses counted by one Get miss, with ArgTags and without")
}
