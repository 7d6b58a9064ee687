package caching_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/internal/testutil"
)

// The tags of the tests below, made once: a tag function that returns them
// allocates nothing itself, so that what a hit allocates is the cache's.
var (
	oneArgTag  = []string{"user:7"}
	twoArgTags = []string{"user:7", "org:3"}
)

// TestMemoizeArgTagsHitAllocatesNothing: on the in-process store, a hit of
// a function with ArgTags checks the tags its entry was written under,
// whose versions it holds in memory: Get and Peek allocate nothing and do
// not call the tag function. Invalidating any of those tags still makes
// the next Get compute again, and the Get after it a hit.
func TestMemoizeArgTagsHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, tc := range []struct {
		name    string
		argTags []string
		opts    []caching.MemoOption
		tags    []string // every tag the result is written under
	}{
		{"one tag", oneArgTag, nil, oneArgTag},
		{"two tags and Tags", twoArgTags, []caching.MemoOption{caching.Tags("sales")}, []string{"user:7", "org:3", "sales"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := caching.Must(nil)
			t.Cleanup(func() { _ = c.Close() })
			var calls, tagCalls atomic.Int64
			opts := append([]caching.MemoOption{
				caching.TTL(time.Hour),
				caching.ArgTags(func(int64) []string { tagCalls.Add(1); return tc.argTags }),
			}, tc.opts...)
			f := caching.Memoize(c, "stats", func(context.Context, int64) (int64, error) { return calls.Add(1), nil }, opts...)
			ctx := t.Context()
			_, err := f.Get(ctx, 7)
			require.NoError(t, err)
			tagCallsBefore := tagCalls.Load()

			assert.Zero(t, testutil.AllocsPerRun(100, func() { _, _ = f.Get(ctx, 7) }), "allocations of a Get hit")
			assert.Zero(t, testutil.AllocsPerRun(100, func() { _, _, _ = f.Peek(ctx, 7) }), "allocations of a Peek hit")
			assert.EqualValues(t, 1, calls.Load(), "every Get after the first was a hit")
			assert.Equal(t, tagCallsBefore, tagCalls.Load(), "a hit called the tag function")

			for i, tag := range tc.tags {
				require.NoError(t, c.InvalidateTags(ctx, tag))
				_, _, err := f.Peek(ctx, 7)
				assert.ErrorIs(t, err, caching.ErrNotFound, "Peek after InvalidateTags(%q)", tag)
				v, err := f.Get(ctx, 7)
				require.NoError(t, err)
				assert.EqualValues(t, i+2, v, "the Get after InvalidateTags(%q) computes again", tag)
				v, err = f.Get(ctx, 7)
				require.NoError(t, err)
				assert.EqualValues(t, i+2, v, "and the next one is a hit")
			}
		})
	}
}

// TestMemoizeArgTagsRemoteHitIsOneRoundTrip: on a remote store without a
// near cache, a hit reads its entry and its tags' versions in one round
// trip, for which it needs the tags: the tag function is called once per
// hit, and an invalidation made through another Cache (another process) is
// seen by the next Get.
func TestMemoizeArgTagsRemoteHitIsOneRoundTrip(t *testing.T) {
	rs := newRemoteStore()
	a, b := newCache(t, rs), newCache(t, rs)
	var calls, tagCalls atomic.Int64
	f := caching.Memoize(a, "stats", func(context.Context, int64) (int64, error) { return calls.Add(1), nil },
		caching.TTL(time.Hour), caching.ArgTags(func(int64) []string { tagCalls.Add(1); return twoArgTags }))
	ctx := t.Context()
	_, err := f.Get(ctx, 7)
	require.NoError(t, err)
	trips, tagCallsBefore := rs.calls.Load(), tagCalls.Load()
	v, err := f.Get(ctx, 7)
	require.NoError(t, err)
	assert.EqualValues(t, 1, v, "a hit")
	assert.EqualValues(t, 1, rs.calls.Load()-trips, "round trips of a hit")
	assert.EqualValues(t, 1, tagCalls.Load()-tagCallsBefore, "tag function calls of a hit")

	require.NoError(t, b.InvalidateTags(ctx, "org:3"))
	v, err = f.Get(ctx, 7)
	require.NoError(t, err)
	assert.EqualValues(t, 2, v, "the Get after the other process's InvalidateTags computes again")
}
