package simple_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// panicDropper panics when it is told it was dropped.
type panicDropper struct{ n atomic.Int32 }

func (d *panicDropper) Dropped() {
	d.n.Add(1)
	panic("dropper panic")
}

// within runs f and fails the test if it does not return within 10s (a
// hang guard, generous for a loaded machine), as a shard whose lock a panic
// left held would make it.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { _ = recover() }()
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s blocked: the store's lock is still held after a Dropper's panic", what)
	}
}

// TestPanickingDropperLeavesTheStoreUsable removes a Dropper that
// panics in each way the store can: the panic reaches the caller, and the
// store stays usable, within its bounds, and still tells its other Droppers.
func TestPanickingDropperLeavesTheStoreUsable(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		remove func(s *simple.Store)
	}{
		{"Delete", func(s *simple.Store) { _ = s.Delete(ctx, "p") }},
		{"StoreValue over it", func(s *simple.Store) { _ = s.StoreValue("p", 1, 8, 0) }},
		{"Set over it", func(s *simple.Store) { _ = s.Set(ctx, "p", []byte("v"), 0) }},
		{"evicted", func(s *simple.Store) {
			for i := range 4 {
				_ = s.Set(ctx, fmt.Sprint("k", i), []byte("v"), 0)
			}
		}},
		{"Clear", func(s *simple.Store) { _ = s.Clear(ctx) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := simple.New(simple.Options{MaxEntries: 3, MaxBytes: 64 << 10, Shards: 1, SweepInterval: -1})
			require.NoError(t, err)
			t.Cleanup(func() { go s.Close() }) // a held lock would block it
			p, d := new(panicDropper), new(dropper)
			require.NoError(t, s.StoreValue("p", p, 8, 0))
			require.NoError(t, s.StoreValue("d", d, 8, 0))
			assert.PanicsWithValue(t, "dropper panic", func() { tc.remove(s) })
			assert.Equal(t, int32(1), p.n.Load())

			within(t, "Set", func() { assert.NoError(t, s.Set(ctx, "after", []byte("v"), 0)) })
			within(t, "Get", func() {
				got, err := s.Get(ctx, "after")
				assert.NoError(t, err)
				assert.Equal(t, "v", string(got))
			})
			st := s.Stats()
			assert.LessOrEqual(t, st.Entries, int64(3))
			if got, ok := s.LoadValue("p"); ok && got == any(p) {
				t.Error("the dropped value is still loadable")
			}
			within(t, "Clear", func() { assert.NoError(t, s.Clear(ctx)) })
			assert.LessOrEqual(t, d.n.Load(), int32(1))
			if tc.name == "Clear" {
				assert.Equal(t, int32(1), d.n.Load(), "a Dropper after the one that panicked is not told")
			}
			assert.Equal(t, int32(1), p.n.Load(), "told again")
			assert.Zero(t, s.Stats().Entries)
		})
	}
}

// TestCloseDuringAWriteReleasesIt closes the store while a write is
// under way, after the write checked that the store was open: the write
// must not leave its value held, untold, by the closed store.
func TestCloseDuringAWriteReleasesIt(t *testing.T) {
	var s *simple.Store
	var closing atomic.Bool
	clock := func() time.Time {
		if closing.CompareAndSwap(true, false) {
			require.NoError(t, s.Close()) // between the write's checks and its lock
		}
		return time.Now()
	}
	s = open(t, simple.Options{Shards: 1, SweepInterval: -1, Clock: clock})
	d := new(dropper)
	closing.Store(true)
	err := s.StoreValue("d", d, 8, time.Minute)
	if err == nil {
		assert.Equal(t, int32(1), d.n.Load(), "stored by a closed store and never told")
	} else {
		assert.Zero(t, d.n.Load())
	}
	assert.Zero(t, s.Stats().Entries, "the closed store holds an entry")
}

// signalPanicDropper closes told when it is told it was dropped, then
// panics.
type signalPanicDropper struct{ told chan struct{} }

func (d *signalPanicDropper) Dropped() {
	close(d.told)
	panic("dropper panic")
}

// TestSweepSurvivesAPanickingDropper lets the expiry sweep remove a Dropper
// that panics. The sweep has no caller to raise the panic to: the process
// must survive it, the sweep must finish the shard (telling the other
// expired Dropper) and release its lock, the store must keep working, and
// later sweeps must still run.
func TestSweepSurvivesAPanickingDropper(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock()
	s := open(t, simple.Options{Shards: 1, SweepInterval: time.Millisecond, Clock: clock.Now})
	p := &signalPanicDropper{told: make(chan struct{})}
	d := new(dropper)
	require.NoError(t, s.StoreValue("p", p, 8, time.Minute))
	require.NoError(t, s.StoreValue("d", d, 8, time.Minute))
	require.NoError(t, s.Set(ctx, "keep", []byte("v"), 0))
	clock.Advance(time.Hour)
	select {
	case <-p.told:
	case <-time.After(10 * time.Second):
		t.Fatal("the sweep did not remove the expired Dropper")
	}

	// The one shard's lock is free again once the sweep is done with it.
	within(t, "Set", func() { assert.NoError(t, s.Set(ctx, "after", []byte("w"), 0)) })
	assert.Equal(t, int32(1), d.n.Load(), "the other expired Dropper is not told")
	got, err := s.Get(ctx, "keep")
	require.NoError(t, err)
	assert.Equal(t, "v", string(got))
	_, ok := s.LoadValue("p")
	assert.False(t, ok, "the dropped value is still loadable")
	assert.Equal(t, int64(2), s.Stats().Entries)

	// The sweep goroutine still runs.
	d2 := new(dropper)
	require.NoError(t, s.StoreValue("d2", d2, 8, time.Minute))
	clock.Advance(time.Hour)
	require.Eventually(t, func() bool { return d2.n.Load() == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, s.Close())
}

// TestDeleteOfManyKeysPastAPanickingDropper: a Delete of several keys
// whose first held a Dropper that panicked raised the panic at once and
// left the other keys stored, readable after a Delete that named them.
// Now every key is deleted, and then the Delete panics.
func TestDeleteOfManyKeysPastAPanickingDropper(t *testing.T) {
	ctx := context.Background()
	s := open(t, simple.Options{Shards: 1, SweepInterval: -1})
	p, d := new(panicDropper), new(dropper)
	require.NoError(t, s.StoreValue("p", p, 8, 0))
	require.NoError(t, s.StoreValue("d", d, 8, 0))
	require.NoError(t, s.Set(ctx, "k", []byte("v"), 0))
	require.NoError(t, s.StoreValue("q", new(panicDropper), 8, 0))
	assert.PanicsWithValue(t, "dropper panic", func() { _ = s.Delete(ctx, "p", "d", "k", "q") })
	assert.Equal(t, int32(1), d.n.Load(), "the Dropper after the one that panicked is not told")
	_, ok := s.LoadValue("d")
	assert.False(t, ok, "a deleted key is still loadable")
	_, err := s.Get(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound, "a deleted key is still readable")
	st := s.Stats()
	assert.Zero(t, st.Entries)
	assert.Zero(t, st.Bytes)
	for i := range 3 {
		within(t, "Set", func() { assert.NoError(t, s.Set(ctx, fmt.Sprint("after", i), []byte("w"), 0)) })
	}
}

// TestSetManyPastAPanickingDropper: a SetMany whose first item replaced a
// Dropper that panicked raised the panic at once, and stored none of the
// items after it. Now it stores every item, and then panics.
func TestSetManyPastAPanickingDropper(t *testing.T) {
	ctx := context.Background()
	s := open(t, simple.Options{Shards: 1, SweepInterval: -1})
	d := new(dropper)
	require.NoError(t, s.StoreValue("p", new(panicDropper), 8, 0))
	require.NoError(t, s.StoreValue("d", d, 8, 0))
	require.NoError(t, s.StoreValue("q", new(panicDropper), 8, 0))
	items := []backend.Item{
		{Key: "p", Value: []byte("1")}, {Key: "d", Value: []byte("2")},
		{Key: "k", Value: []byte("3")}, {Key: "q", Value: []byte("4")},
	}
	assert.PanicsWithValue(t, "dropper panic", func() { _ = s.SetMany(ctx, items) })
	assert.Equal(t, int32(1), d.n.Load(), "the Dropper after the one that panicked is not told")
	for _, it := range items {
		got, err := s.Get(ctx, it.Key)
		if assert.NoError(t, err, it.Key) {
			assert.Equal(t, string(it.Value), string(got), it.Key)
		}
	}
	assert.Equal(t, int64(4), s.Stats().Entries)
	within(t, "Set", func() { assert.NoError(t, s.Set(ctx, "after", []byte("w"), 0)) })
}
