package simple_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// dropper counts the calls of Dropped.
type dropper struct{ n atomic.Int32 }

func (d *dropper) Dropped() { d.n.Add(1) }

// TestDropperIsToldOnceOnEveryRemoval stores a Dropper and removes it in each
// way the store can, checking that it is told exactly once, by the time the
// removing call returns, and never while the store still holds it.
func TestDropperIsToldOnceOnEveryRemoval(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		remove func(t *testing.T, s *simple.Store, clock *testutil.Clock)
	}{
		{"Delete", func(t *testing.T, s *simple.Store, _ *testutil.Clock) { require.NoError(t, s.Delete(ctx, "d")) }},
		{"DeleteCount", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			n, err := s.DeleteCount(ctx, "d")
			require.NoError(t, err)
			assert.Equal(t, 1, n)
		}},
		{"Set over it", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			require.NoError(t, s.Set(ctx, "d", []byte("v"), 0))
		}},
		{"StoreValue over it", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			require.NoError(t, s.StoreValue("d", 1, 8, 0))
		}},
		{"Set too large over it", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			require.Error(t, s.Set(ctx, "d", make([]byte, 1<<20), 0))
		}},
		{"evicted", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			// MaxEntries is 4: three more entries, each read, so that the
			// SIEVE hand passes every entry, then comes back to "d".
			for i := range 3 {
				require.NoError(t, s.Set(ctx, fmt.Sprint("k", i), []byte("v"), 0))
				_, err := s.Get(ctx, fmt.Sprint("k", i))
				require.NoError(t, err)
			}
			require.NoError(t, s.Set(ctx, "k3", []byte("v"), 0))
			assert.Equal(t, int64(1), s.Stats().Evictions)
		}},
		{"expired, then read, then written over", func(t *testing.T, s *simple.Store, clock *testutil.Clock) {
			clock.Advance(time.Hour)
			_, ok := s.LoadValue("d")
			require.False(t, ok)
			// The read missed but left the Dropper (see
			// TestReadsNeverRunDroppers): the write removes it.
			require.NoError(t, s.Set(ctx, "d", []byte("v"), 0))
		}},
		{"expired, then added over", func(t *testing.T, s *simple.Store, clock *testutil.Clock) {
			clock.Advance(time.Hour)
			added, err := s.AddValue("d", 2, 8, 0)
			require.NoError(t, err)
			require.True(t, added)
		}},
		{"Clear", func(t *testing.T, s *simple.Store, _ *testutil.Clock) { require.NoError(t, s.Clear(ctx)) }},
		{"Close", func(t *testing.T, s *simple.Store, _ *testutil.Clock) { require.NoError(t, s.Close()) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := testutil.NewClock()
			s := open(t, simple.Options{MaxEntries: 4, MaxBytes: 64 << 10, Shards: 1, SweepInterval: -1, Clock: clock.Now})
			d := new(dropper)
			require.NoError(t, s.StoreValue("d", d, 8, time.Minute))
			_, err := s.AddValue("d", new(dropper), 8, time.Minute)
			require.NoError(t, err)
			got, ok := s.LoadValue("d")
			require.True(t, ok)
			require.Same(t, d, got)
			require.Zero(t, d.n.Load(), "told while the store holds it")

			tc.remove(t, s, clock)
			assert.Equal(t, int32(1), d.n.Load(), "Dropped calls once the store no longer holds it")
			if got, ok := s.LoadValue("d"); ok {
				assert.NotEqual(t, any(d), got, "still held")
			}
			_ = s.Clear(ctx)
			_ = s.Close()
			assert.Equal(t, int32(1), d.n.Load(), "told again after its removal")
		})
	}
}

func TestSweepTellsDroppers(t *testing.T) {
	clock := testutil.NewClock()
	s := open(t, simple.Options{SweepInterval: time.Millisecond, Clock: clock.Now})
	d := new(dropper)
	require.NoError(t, s.StoreValue("d", d, 8, time.Minute))
	clock.Advance(time.Hour)
	require.Eventually(t, func() bool { return d.n.Load() == 1 }, 5*time.Second, time.Millisecond)
}

func TestPinnedValuesAreNeverDropped(t *testing.T) {
	s := open(t, simple.Options{SweepInterval: -1})
	d := new(dropper)
	s.Pin("p", d)
	require.NoError(t, s.Delete(context.Background(), "p"))
	require.NoError(t, s.Clear(context.Background()))
	require.NoError(t, s.Close())
	assert.Zero(t, d.n.Load())
}

// TestClearTellsEveryDropperAmongManyEntries checks that Clear walks a
// shard's entries when some are Droppers, and tells each one.
func TestClearTellsEveryDropperAmongManyEntries(t *testing.T) {
	ctx := context.Background()
	s := open(t, simple.Options{Shards: 2, SweepInterval: -1})
	ds := make([]*dropper, 300)
	for i := range ds {
		ds[i] = new(dropper)
		require.NoError(t, s.StoreValue(fmt.Sprint("d", i), ds[i], 8, 0))
		require.NoError(t, s.Set(ctx, fmt.Sprint("b", i), []byte("v"), 0))
	}
	require.NoError(t, s.Clear(ctx))
	for i, d := range ds {
		require.Equal(t, int32(1), d.n.Load(), "dropper %d", i)
	}
}

// TestDropperStoredAgainIsNotTold stores one Dropper under its key twice (a
// caller renewing its TTL) and once more with AddValue over it expired: the
// store still holds it, and LoadValue returns it, so it must not have been
// told. It was told Dropped on each of those writes, and again at Close.
func TestDropperStoredAgainIsNotTold(t *testing.T) {
	clock := testutil.NewClock()
	s := open(t, simple.Options{SweepInterval: -1, Clock: clock.Now})
	d := new(dropper)
	require.NoError(t, s.StoreValue("d", d, 8, time.Minute))
	require.NoError(t, s.StoreValue("d", d, 8, time.Hour)) // renew its TTL
	clock.Advance(2 * time.Hour)
	added, err := s.AddValue("d", d, 8, time.Minute) // over itself, expired
	require.NoError(t, err)
	require.True(t, added)
	got, ok := s.LoadValue("d")
	require.True(t, ok)
	require.Same(t, d, got)
	assert.Zero(t, d.n.Load(), "told while the store holds it")
	require.NoError(t, s.Close())
	assert.Equal(t, int32(1), d.n.Load(), "Dropped calls after Close")
}
