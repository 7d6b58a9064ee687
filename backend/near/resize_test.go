package near_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// The near cache offers the optional resize to the caching package.
var _ backend.NearResizer = (*near.Store)(nil)

// TestResizeNearCountsWhatTheValueHolds: a value kept near counts, once
// resized, the size given (in NearStats' Bytes), and a value grown past
// the room left evicts others, so that MaxBytes still bounds memory.
func TestResizeNearCountsWhatTheValueHolds(t *testing.T) {
	const maxBytes = 8 << 10
	s := openNear(t, newBus(t).view(), near.Options{MaxBytes: maxBytes})
	require.NoError(t, s.WaitWatching(context.Background()))
	v := new([16]byte)
	s.StoreNear("k", v, 100, 0, s.NearToken())
	require.True(t, held(s, "k"))
	base := s.NearStats().Bytes

	require.True(t, s.ResizeNear("k", v, 1000))
	assert.Equal(t, base+900, s.NearStats().Bytes)
	got, ok := s.LoadNear("k", time.Time{})
	require.True(t, ok)
	assert.Same(t, v, got, "the same value is kept")

	for _, k := range []string{"a", "b", "c", "d"} {
		s.StoreNear(k, new(int), 1000, 0, s.NearToken())
	}
	require.True(t, s.ResizeNear("k", v, 6000))
	st := s.NearStats()
	assert.LessOrEqual(t, st.Bytes, int64(maxBytes))
	assert.Positive(t, st.Evictions, "others made room")
	assert.True(t, held(s, "k"))
}

// TestResizeNearRefusesWhatIsNotKept: a resize counts only for the value
// key keeps: not after the Store's own write dropped it, not for a value
// kept under key since, and not for one never kept (refused: read before a
// change).
func TestResizeNearRefusesWhatIsNotKept(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	s := openNear(t, b.view(), near.Options{})
	require.NoError(t, s.WaitWatching(ctx))

	v := new(int)
	s.StoreNear("k", v, 100, 0, s.NearToken())
	require.NoError(t, s.Set(ctx, "k", []byte("x"), 0)) // drops k
	before := s.NearStats().Bytes
	assert.False(t, s.ResizeNear("k", v, 1000), "dropped")
	assert.Equal(t, before, s.NearStats().Bytes)

	w := new(int)
	s.StoreNear("k", w, 100, 0, s.NearToken())
	assert.False(t, s.ResizeNear("k", v, 1000), "another value is kept")
	assert.True(t, s.ResizeNear("k", w, 1000))

	tok := s.NearToken()
	b.publish([]string{"r"})
	u := new(int)
	s.StoreNear("r", u, 100, 0, tok) // refused: read before the change
	assert.False(t, s.ResizeNear("r", u, 1000), "never kept")

	require.NoError(t, s.Close())
	assert.False(t, s.ResizeNear("k", w, 2000), "closed")
}

// TestResizeNearOverTheLimitDropsTheValue: a value that turns out larger
// than memory takes is not kept, as StoreNear would not have kept it.
func TestResizeNearOverTheLimitDropsTheValue(t *testing.T) {
	s := openNear(t, simple.Must(simple.Options{}), near.Options{MaxBytes: 1 << 20})
	v := new(int)
	s.StoreNear("k", v, 100, 0, s.NearToken())
	require.True(t, held(s, "k"))
	assert.False(t, s.ResizeNear("k", v, 2<<20))
	assert.False(t, held(s, "k"))
	assert.Zero(t, s.NearStats().Entries)
}
