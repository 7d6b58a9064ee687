package simple_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// TestTTLAfterClockSteppedBack: an entry written with a TTL after an
// Options.Clock had gone back past the store's start (a wall clock stepped
// back by an hour) lived until the clock came back to that start, an hour,
// whatever its TTL: its deadline, before the start, was raised to just
// after it. Only differences between the clock's readings matter: a one
// minute TTL is a minute, whatever the clock read when the store was made.
func TestTTLAfterClockSteppedBack(t *testing.T) {
	ctx := t.Context()
	clock := testutil.NewClock()
	s := open(t, simple.Options{Clock: clock.Now, SweepInterval: -1})
	clock.Advance(-time.Hour)

	require.NoError(t, s.Set(ctx, "set", []byte("v"), time.Minute))
	added, err := s.Add(ctx, "add", []byte("v"), time.Minute)
	require.NoError(t, err)
	require.True(t, added)
	require.NoError(t, s.SetMany(ctx, []backend.Item{{Key: "many", Value: []byte("v"), TTL: time.Minute}}))
	require.NoError(t, s.StoreValue("value", 1, 8, time.Minute))

	clock.Advance(30 * time.Second)
	_, err = s.Get(ctx, "set")
	require.NoError(t, err, "within its TTL")
	_, ok := s.LoadValue("value")
	require.True(t, ok, "within its TTL")

	clock.Advance(time.Minute)
	for _, k := range []string{"set", "add", "many"} {
		_, err := s.Get(ctx, k)
		assert.ErrorIs(t, err, backend.ErrNotFound, "%s: read past its one-minute TTL", k)
	}
	_, ok = s.LoadValue("value")
	assert.False(t, ok, "a Go value read past its one-minute TTL")
}
