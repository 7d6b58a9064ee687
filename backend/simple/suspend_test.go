package simple_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/boottime"
)

// TestSuspendExpiresEntries: the default clock read only the monotonic
// clock, which stops while the machine is suspended, so that an entry read
// after hours asleep lived its whole TTL of awake time more. A suspend
// longer than the TTL now expires it, once the store has read the wall
// clock: at a write with a TTL (here), at the sweep, or at a read a second
// after the last (internal/boottime's tests).
func TestSuspendExpiresEntries(t *testing.T) {
	ctx := t.Context()
	s := open(t, simple.Options{SweepInterval: -1})
	require.NoError(t, s.Set(ctx, "bytes", []byte("v"), time.Hour))
	require.NoError(t, s.StoreValue("value", 1, 8, time.Hour))
	require.NoError(t, s.StoreValue("value at", 1, 8, time.Hour))
	require.NoError(t, s.Set(ctx, "forever", []byte("v"), 0))
	before := time.Now() // a reading of the caller's, from before the suspend

	defer boottime.StepWallForTest(2 * time.Hour)()
	require.NoError(t, s.Set(ctx, "written after", []byte("v"), time.Minute))

	_, err := s.Get(ctx, "bytes")
	assert.ErrorIs(t, err, backend.ErrNotFound, "Get: served an entry an hour past its TTL")
	_, ok := s.LoadValue("value")
	assert.False(t, ok, "LoadValue: served an entry an hour past its TTL")
	_, ok = s.LoadValueAt("value at", before)
	assert.False(t, ok, "LoadValueAt with a reading from before the suspend: served an expired entry")
	_, err = s.Get(ctx, "forever")
	assert.NoError(t, err, "an entry without a TTL expired")
	_, err = s.Get(ctx, "written after")
	assert.NoError(t, err, "an entry written after the resume expired")
}

// TestSuspendCountedByARead: a store no one writes to, without a sweep,
// counts a suspend at a read once a second of awake time has passed since
// a read last checked the wall clock: a hit's inlined deadline test
// (boottime.Clock.Before) must leave the due check to the store's clock,
// or a read would serve an entry past its TTL for as long as nothing
// writes.
func TestSuspendCountedByARead(t *testing.T) {
	ctx := t.Context()
	s := open(t, simple.Options{SweepInterval: -1})
	require.NoError(t, s.Set(ctx, "bytes", []byte("v"), time.Hour))
	require.NoError(t, s.StoreValue("value", 1, 8, time.Hour))
	_, err := s.Get(ctx, "bytes")
	require.NoError(t, err)

	defer boottime.StepWallForTest(2 * time.Hour)()
	require.Eventually(t, func() bool {
		_, err := s.Get(ctx, "bytes")
		return errors.Is(err, backend.ErrNotFound)
	}, 10*time.Second, 10*time.Millisecond, "Get: served an entry an hour past its TTL")
	_, ok := s.LoadValue("value")
	assert.False(t, ok, "LoadValue: served an entry an hour past its TTL")
}

// TestSuspendCountedBySweep: a store no one writes to counts a suspend at
// its sweep, which removes what expired.
func TestSuspendCountedBySweep(t *testing.T) {
	ctx := t.Context()
	s := open(t, simple.Options{SweepInterval: time.Millisecond})
	require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Hour))
	defer boottime.StepWallForTest(2 * time.Hour)()
	require.Eventually(t, func() bool { return s.Stats().Entries == 0 }, 10*time.Second, time.Millisecond,
		"the sweep did not remove an entry an hour past its TTL")
	_, err := s.Get(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound)
}

// TestWallClockSteppedBackAddsNoLife: a wall clock stepped back neither
// expires entries nor lengthens their lives: a suspend after it counts in
// full, not less the step.
func TestWallClockSteppedBackAddsNoLife(t *testing.T) {
	ctx := t.Context()
	s := open(t, simple.Options{SweepInterval: -1})
	require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Hour))

	defer boottime.StepWallForTest(-time.Hour)()
	require.NoError(t, s.Set(ctx, "other", []byte("v"), time.Minute))
	_, err := s.Get(ctx, "k")
	require.NoError(t, err, "a wall clock stepped back expired an entry")

	defer boottime.StepWallForTest(90 * time.Minute)() // a suspend
	require.NoError(t, s.Set(ctx, "other", []byte("v"), time.Minute))
	_, err = s.Get(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound,
		"a suspend of 90 minutes after a step back of an hour: served an entry with a TTL of an hour")
}
