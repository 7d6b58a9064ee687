package simple_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// deferredWrite calls StoreValueDeferred and reports what it panicked with,
// if it did, and else its Evictions and error.
func deferredWrite(s *simple.Store, key string, v any, size int) (ev simple.Evictions, panicked any, err error) {
	defer func() { panicked = recover() }()
	ev, err = s.StoreValueDeferred(key, v, size, 0)
	return ev, nil, err
}

// TestStoreValueDeferredKeepsEvictionsWhenADropperPanics: a
// StoreValueDeferred that dropped a Dropper that panicked raised the panic
// itself, inside the caller's lock, and returned no Evictions: OnEvict
// was never told of the keys the write had evicted. Now the write returns
// them as if no Dropper had panicked, and Notify, once the caller has
// released its lock, tells OnEvict of every key and then raises the
// Dropper's panic. The store stays usable, with its bytes counted right.
func TestStoreValueDeferredKeepsEvictionsWhenADropperPanics(t *testing.T) {
	cases := []struct {
		name string
		// write writes over the store that fullStore returns, "p" holding
		// a panicking Dropper, and says what it evicted.
		write   func(s *simple.Store, size int) (simple.Evictions, any, error)
		evicted []string
		err     error
		stored  bool // "big" is stored
	}{
		{"evicts it", func(s *simple.Store, size int) (simple.Evictions, any, error) {
			return deferredWrite(s, "big", "v", size-simple.ValueOverhead+simple.EntryOverhead)
		}, []string{"a", "b", "c", "d", "p"}, nil, true},
		{"replaces it", func(s *simple.Store, _ int) (simple.Evictions, any, error) {
			return deferredWrite(s, "p", "v", 8)
		}, nil, nil, false},
		{"too large, deletes it", func(s *simple.Store, size int) (simple.Evictions, any, error) {
			return deferredWrite(s, "p", "v", 2*size)
		}, nil, backend.ErrValueTooLarge, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &evictRecorder{end: func(string) {}}
			s, size := fullStore(t, r.onEvict)
			p := new(panicDropper)
			require.NoError(t, s.StoreValue("p", p, 8, 0))
			before := s.Stats()

			ev, panicked, err := tc.write(s, size)
			assert.Nil(t, panicked, "StoreValueDeferred panicked, under its caller's lock")
			assert.ErrorIs(t, err, tc.err)
			assert.Equal(t, int32(1), p.n.Load(), "the Dropper told")
			assert.Empty(t, r.told(), "OnEvict told before Notify")
			assert.PanicsWithValue(t, "dropper panic", ev.Notify, "Notify raises the Dropper's panic")
			assert.Equal(t, tc.evicted, r.told(), "the evicted keys OnEvict was told of")

			_, ok := s.LoadValue("p")
			assert.Equal(t, tc.name == "replaces it", ok, "p loadable")
			assert.Equal(t, tc.stored, has(t, s, "big"), "big stored")
			st := s.Stats()
			switch {
			case tc.stored:
				assert.Equal(t, int64(1), st.Entries)
				assert.Equal(t, int64(64<<10), st.Bytes, "the bytes of the one entry, big")
			case err != nil:
				assert.Equal(t, before.Entries-1, st.Entries)
				assert.Equal(t, before.Bytes-int64(len("p")+8+simple.ValueOverhead), st.Bytes)
			default:
				assert.Equal(t, before.Entries, st.Entries)
				assert.Equal(t, before.Bytes, st.Bytes)
			}
			assert.Equal(t, int32(1), p.n.Load(), "told again")
			// The shard's lock is free.
			within(t, "Set", func() { assert.NoError(t, s.Set(context.Background(), "after", []byte("w"), 0)) })
		})
	}
}

// TestEvictionsJoin joins the Evictions of two writes: Notify tells the
// keys of both, in order, and raises the first Dropper's panic.
func TestEvictionsJoin(t *testing.T) {
	r := &evictRecorder{end: func(string) {}}
	s, err := simple.New(simple.Options{MaxEntries: 2, MaxBytes: 64 << 10, Shards: 1, SweepInterval: -1, OnEvict: r.onEvict})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.StoreValue("a", 1, 8, 0))
	require.NoError(t, s.StoreValue("b", &panicDropper{}, 8, 0))
	ev1, err := s.StoreValueDeferred("c", 3, 8, 0) // evicts a
	require.NoError(t, err)
	ev2, err := s.StoreValueDeferred("d", 4, 8, 0) // evicts b, which panics
	require.NoError(t, err)
	var none simple.Evictions
	ev := none.Join(ev1).Join(none).Join(ev2)
	assert.PanicsWithValue(t, "dropper panic", ev.Notify)
	assert.Equal(t, []string{"a", "b"}, r.told())

	other := simple.Must(simple.Options{MaxEntries: 1, Shards: 1, SweepInterval: -1, OnEvict: func(string) {}})
	t.Cleanup(func() { _ = other.Close() })
	require.NoError(t, other.StoreValue("x", 1, 8, 0))
	ev3, err := other.StoreValueDeferred("y", 2, 8, 0)
	require.NoError(t, err)
	assert.Panics(t, func() { ev1.Join(ev3) }, "a Join of two stores' evictions")
}

// TestSetDeferredKeepsEvictionsWhenADropperPanics is the test above for
// SetDeferred, the byte values' deferred write (package caching writes
// bare integers with it under a load's lock): the write is made, OnEvict
// is told only by Notify, which then raises the Dropper's panic.
func TestSetDeferredKeepsEvictionsWhenADropperPanics(t *testing.T) {
	cases := []struct {
		name    string
		key     string
		size    func(full int) int // the value's length, of what fills the store
		evicted []string
		err     error
	}{
		{"evicts it", "big", func(full int) int { return full }, []string{"a", "b", "c", "d", "p"}, nil},
		{"replaces it", "p", func(int) int { return 8 }, nil, nil},
		{"too large, deletes it", "p", func(full int) int { return 2 * full }, nil, backend.ErrValueTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &evictRecorder{end: func(string) {}}
			s, size := fullStore(t, r.onEvict)
			p := new(panicDropper)
			require.NoError(t, s.StoreValue("p", p, 8, 0))
			value := make([]byte, tc.size(size))

			var (
				ev       simple.Evictions
				err      error
				panicked any
			)
			func() {
				defer func() { panicked = recover() }()
				ev, err = s.SetDeferred(tc.key, value, 0)
			}()
			assert.Nil(t, panicked, "SetDeferred panicked, under its caller's lock")
			assert.ErrorIs(t, err, tc.err)
			assert.Equal(t, int32(1), p.n.Load(), "the Dropper told")
			assert.Empty(t, r.told(), "OnEvict told before Notify")
			assert.PanicsWithValue(t, "dropper panic", ev.Notify, "Notify raises the Dropper's panic")
			assert.Equal(t, tc.evicted, r.told(), "the evicted keys OnEvict was told of")
			got, gerr := s.Get(context.Background(), tc.key)
			if tc.err != nil {
				assert.ErrorIs(t, gerr, backend.ErrNotFound, "a failed write leaves no stale value")
			} else {
				require.NoError(t, gerr)
				assert.Equal(t, value, got, "the write made")
			}
			within(t, "Set", func() { assert.NoError(t, s.Set(context.Background(), "after", []byte("w"), 0)) })
		})
	}
}

// TestAddDeferredKeepsEvictionsWhenADropperPanics: AddDeferred and
// AddValueDeferred, the deferred Adds (package caching counts an Add in
// Stats.Sets before Notify raises a Dropper's panic), add the entry,
// evicting what makes room, without calling OnEvict or panicking; Notify
// then tells OnEvict and raises the panic. A live entry is left alone.
func TestAddDeferredKeepsEvictionsWhenADropperPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  func(s *simple.Store, key string, size int) (bool, simple.Evictions, error)
	}{
		{"AddDeferred", func(s *simple.Store, key string, size int) (bool, simple.Evictions, error) {
			return s.AddDeferred(key, make([]byte, size), 0)
		}},
		{"AddValueDeferred", func(s *simple.Store, key string, size int) (bool, simple.Evictions, error) {
			// The footprint of a byte value of size.
			return s.AddValueDeferred(key, "v", max(size-simple.ValueOverhead+simple.EntryOverhead, 0), 0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &evictRecorder{end: func(string) {}}
			s, size := fullStore(t, r.onEvict)
			p := new(panicDropper)
			require.NoError(t, s.StoreValue("p", p, 8, 0))

			added, ev, err := tc.add(s, "p", 8)
			require.NoError(t, err)
			assert.False(t, added, "p is live")
			assert.NotPanics(t, ev.Notify, "nothing dropped")

			var panicked any
			func() {
				defer func() { panicked = recover() }()
				added, ev, err = tc.add(s, "big", size)
			}()
			assert.Nil(t, panicked, "the Add panicked, under its caller's lock")
			require.NoError(t, err)
			assert.True(t, added)
			assert.Empty(t, r.told(), "OnEvict told before Notify")
			assert.PanicsWithValue(t, "dropper panic", ev.Notify)
			assert.Equal(t, []string{"a", "b", "c", "d", "p"}, r.told())
			_, isValue := s.LoadValue("big")
			assert.True(t, has(t, s, "big") || isValue, "big stored")
		})
	}
}
