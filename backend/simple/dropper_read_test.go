package simple_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// TestReadsNeverRunDroppers: a LoadValue (LoadValueAt, LoadValueBytesAt)
// that found a Dropper expired removed it then and there, and raised its
// panic, if it panicked, in the reader: a read of a key, in a goroutine
// that stored nothing (package caching reads with locks of its own held),
// panicked with another caller's value. Now reads never drop a Dropper:
// they miss, and leave it to the writes and the sweep, which tell it as
// they remove it. Reads of byte values (Get, GetMany, Has) never met
// Droppers, and still do not.
func TestReadsNeverRunDroppers(t *testing.T) {
	ctx := context.Background()
	reads := []struct {
		name string
		read func(s *simple.Store) bool // reports a hit
	}{
		{"LoadValue", func(s *simple.Store) bool { _, ok := s.LoadValue("p"); return ok }},
		{"LoadValueAt", func(s *simple.Store) bool { _, ok := s.LoadValueAt("p", time.Now()); return ok }},
		{"LoadValueBytesAt", func(s *simple.Store) bool { _, ok := s.LoadValueBytesAt([]byte("p"), time.Time{}); return ok }},
		{"Get", func(s *simple.Store) bool { _, err := s.Get(ctx, "p"); return err == nil }},
		{"GetMany", func(s *simple.Store) bool {
			got, err := s.GetMany(ctx, []string{"p", "k", "q"})
			require.NoError(t, err)
			require.Len(t, got, 3)
			assert.Equal(t, "v", string(got[1]), "a key after the expired Dropper is not answered")
			return got[0] != nil
		}},
		{"Has", func(s *simple.Store) bool { ok, _ := s.Has(ctx, "p"); return ok }},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			clock := testutil.NewClock()
			s := open(t, simple.Options{Shards: 1, SweepInterval: -1, Clock: clock.Now})
			p, q := new(panicDropper), new(panicDropper)
			require.NoError(t, s.StoreValue("p", p, 8, time.Minute))
			require.NoError(t, s.Set(ctx, "k", []byte("v"), 0))
			require.NoError(t, s.StoreValue("q", q, 8, time.Minute))
			clock.Advance(time.Hour)

			var hit bool
			assert.NotPanics(t, func() { hit = tc.read(s) }, "a read raised a Dropper's panic")
			assert.False(t, hit, "an expired entry read")
			assert.Zero(t, p.n.Load(), "a read dropped the Dropper")
			assert.Zero(t, q.n.Load(), "a read dropped the Dropper")

			// A write over it removes it, tells it, and raises its panic.
			assert.PanicsWithValue(t, "dropper panic", func() { _ = s.StoreValue("p", 1, 8, 0) })
			assert.Equal(t, int32(1), p.n.Load())
			got, ok := s.LoadValue("p")
			assert.True(t, ok)
			assert.Equal(t, 1, got)
			// Clear tells the other.
			assert.PanicsWithValue(t, "dropper panic", func() { _ = s.Clear(ctx) })
			assert.Equal(t, int32(1), q.n.Load())
			assert.Zero(t, s.Stats().Entries)
		})
	}
}

// TestDeleteDeferredRaisesADropperPanicInNotify: DeleteDeferred removes
// the key and returns, whatever its Dropper does; Notify raises the
// Dropper's panic.
func TestDeleteDeferredRaisesADropperPanicInNotify(t *testing.T) {
	s := open(t, simple.Options{Shards: 1, SweepInterval: -1})
	p := new(panicDropper)
	require.NoError(t, s.StoreValue("p", p, 8, 0))
	var ev simple.Evictions
	var err error
	require.NotPanics(t, func() { ev, err = s.DeleteDeferred("p") })
	require.NoError(t, err)
	assert.Equal(t, int32(1), p.n.Load())
	_, ok := s.LoadValue("p")
	assert.False(t, ok, "not deleted")
	assert.Zero(t, s.Stats().Entries)
	assert.PanicsWithValue(t, "dropper panic", ev.Notify)

	ev, err = s.DeleteDeferred("absent")
	require.NoError(t, err)
	assert.NotPanics(t, ev.Notify)
	require.NoError(t, s.Close())
	_, err = s.DeleteDeferred("p")
	assert.ErrorIs(t, err, backend.ErrClosed)
}
