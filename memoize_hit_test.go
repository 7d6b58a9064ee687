package caching_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// countingSimple is the simple store counting its LoadValue calls.
type countingSimple struct {
	*simple.Store
	loads atomic.Int64
}

func (s *countingSimple) LoadValue(key string) (any, bool) {
	s.loads.Add(1)
	return s.Store.LoadValue(key)
}

// TestMemoizeHitReadsTheStoreOnce: on the in-process store, a memoized hit
// is one lookup, of its entry: the function's generation is pinned in
// memory, not read from the store as a second entry.
func TestMemoizeHitReadsTheStoreOnce(t *testing.T) {
	s := &countingSimple{Store: simple.Must(simple.Options{SweepInterval: -1})}
	c := newCache(t, s)
	var calls counter
	sq := caching.Memoize(c, "square", square(&calls), caching.TTL(time.Hour))
	_, err := sq.Get(t.Context(), 3)
	require.NoError(t, err)
	before := s.loads.Load()
	v, err := sq.Get(t.Context(), 3)
	require.NoError(t, err)
	assert.Equal(t, 9, v)
	assert.Equal(t, int64(1), s.loads.Load()-before, "store lookups for a hit")
	assert.Equal(t, int64(1), calls.load())

	// ForgetAll still reaches the entry.
	require.NoError(t, sq.ForgetAll(t.Context()))
	_, err = sq.Get(t.Context(), 3)
	require.NoError(t, err)
	assert.Equal(t, int64(2), calls.load(), "a hit after ForgetAll")
}

// TestMemoizeGenerationSurvivesEviction: the store evicting everything it
// holds does not lose the generation, so that ForgetAll reaches entries
// written before the eviction and after it alike.
func TestMemoizeGenerationSurvivesEviction(t *testing.T) {
	s := simple.Must(simple.Options{SweepInterval: -1, MaxEntries: 64, Shards: 1})
	t.Cleanup(func() { _ = s.Close() })
	c := newCache(t, sharedSimple{s})
	ctx := t.Context()
	var calls counter
	sq := caching.Memoize(c, "square", square(&calls))
	_, err := sq.Get(ctx, 1)
	require.NoError(t, err)
	for i := range 1000 { // evicts every entry many times over
		require.NoError(t, c.Set(ctx, "filler"+string(rune('a'+i%26))+string(rune('a'+i/26)), []byte("x"), 0))
	}
	_, err = sq.Get(ctx, 2)
	require.NoError(t, err)
	_, err = sq.Get(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(2), calls.load(), "the entry written after the eviction is a hit")
	require.NoError(t, sq.ForgetAll(ctx))
	_, err = sq.Get(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(3), calls.load(), "ForgetAll reached the entry")
}

// TestMemoizeHitAllocatesNothing: on the default store a hit builds its key
// on the stack and looks it up without making a string of it, and returns
// the value itself.
func TestMemoizeHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	c := caching.Must(nil)
	t.Cleanup(func() { _ = c.Close() })
	type args struct {
		UserID int64
		Period string
	}
	f := caching.Memoize(c, "stats", func(_ context.Context, a args) (int64, error) { return a.UserID, nil }, caching.TTL(time.Hour))
	ctx := t.Context()
	a := args{UserID: 7, Period: "monthly"}
	_, err := f.Get(ctx, a)
	require.NoError(t, err)
	assert.Zero(t, testutil.AllocsPerRun(100, func() { _, _ = f.Get(ctx, a) }))

	// So does the hit of a nil result of an interface type.
	g := caching.Memoize(c, "lookup", func(context.Context, args) (any, error) { return nil, nil }, caching.TTL(time.Hour))
	_, err = g.Get(ctx, a)
	require.NoError(t, err)
	assert.Zero(t, testutil.AllocsPerRun(100, func() { _, _ = g.Get(ctx, a) }), "a nil result")

	// So does the hit of an argument that holds references, with
	// background refreshes on: the argument is copied only when a refresh
	// or a computation starts.
	h := caching.Memoize(c, "profiles", func(_ context.Context, ids []string) (int, error) { return len(ids), nil },
		caching.TTL(time.Hour), caching.RefreshAhead(time.Minute), caching.StaleWhileRevalidate(time.Hour))
	ids := []string{"alice", "bob"}
	_, err = h.Get(ctx, ids)
	require.NoError(t, err)
	assert.Zero(t, testutil.AllocsPerRun(100, func() { _, _ = h.Get(ctx, ids) }), "a slice argument")
}

// TestStatsExactUnderConcurrentHits: the hit counter, striped across
// cores, still counts every hit once.
func TestStatsExactUnderConcurrentHits(t *testing.T) {
	c := caching.Must(nil)
	t.Cleanup(func() { _ = c.Close() })
	var calls counter
	sq := caching.Memoize(c, "square", square(&calls))
	_, err := sq.Get(t.Context(), 2)
	require.NoError(t, err)
	const goroutines, hits = 8, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range hits {
				if _, err := sq.Get(t.Context(), 2); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := c.Stats()
	assert.Equal(t, int64(goroutines*hits), st.Hits)
	assert.Equal(t, int64(1), st.Misses)
}
