package simple_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// valueBytes is what a Go value stored under key with size counts.
func valueBytes(key string, size int) int64 {
	return int64(len(key)) + int64(size) + simple.ValueOverhead
}

// TestResizeValueCountsTheNewSize: a resize of the value a key holds
// changes what it counts in Bytes, up or down, and nothing else: the same
// value is loaded, the entry count is the same.
func TestResizeValueCountsTheNewSize(t *testing.T) {
	s := open(t, simple.Options{Shards: 1, SweepInterval: -1})
	v := new([64]byte)
	require.NoError(t, s.StoreValue("k", v, 100, 0))
	require.Equal(t, valueBytes("k", 100), s.Stats().Bytes)

	require.True(t, s.ResizeValue("k", v, 1000))
	st := s.Stats()
	assert.Equal(t, valueBytes("k", 1000), st.Bytes, "grown")
	assert.Equal(t, int64(1), st.Entries)
	got, ok := s.LoadValue("k")
	require.True(t, ok)
	assert.Same(t, v, got)

	require.True(t, s.ResizeValue("k", v, 10))
	assert.Equal(t, valueBytes("k", 10), s.Stats().Bytes, "shrunk")
	require.True(t, s.ResizeValue("k", v, 10), "the same size again")
	assert.Equal(t, valueBytes("k", 10), s.Stats().Bytes)

	// The byte total stays exact: removing the entry takes back what the
	// resize counted.
	require.NoError(t, s.Delete(context.Background(), "k"))
	assert.Zero(t, s.Stats().Bytes)
}

// TestResizeValueEvictsToStayWithinMaxBytes: a value grown past the room
// left evicts other entries, as a write does, telling OnEvict, and never
// the resized entry itself.
func TestResizeValueEvictsToStayWithinMaxBytes(t *testing.T) {
	const maxBytes = 10_000
	var (
		mu      sync.Mutex
		evicted []string
	)
	s := open(t, simple.Options{MaxBytes: maxBytes, Shards: 1, SweepInterval: -1, OnEvict: func(k string) {
		mu.Lock()
		evicted = append(evicted, k)
		mu.Unlock()
	}})
	vals := make([]*int, 10)
	for i := range vals {
		vals[i] = new(int)
		require.NoError(t, s.StoreValue("k"+strconv.Itoa(i), vals[i], 500, 0))
	}
	before := s.Stats()
	require.Zero(t, before.Evictions)
	require.Equal(t, 10*valueBytes("k0", 500), before.Bytes)

	require.True(t, s.ResizeValue("k9", vals[9], 6000))
	st := s.Stats()
	assert.LessOrEqual(t, st.Bytes, int64(maxBytes), "back within MaxBytes")
	assert.Positive(t, st.Evictions)
	assert.Equal(t, 10-st.Evictions, st.Entries)
	got, ok := s.LoadValue("k9")
	require.True(t, ok, "the resized entry stays")
	assert.Same(t, vals[9], got)
	mu.Lock()
	assert.Len(t, evicted, int(st.Evictions), "OnEvict is told of each")
	assert.NotContains(t, evicted, "k9")
	mu.Unlock()
	var sum int64
	for i := range vals {
		if _, ok := s.LoadValue("k" + strconv.Itoa(i)); ok {
			if i == 9 {
				sum += valueBytes("k9", 6000)
			} else {
				sum += valueBytes("k0", 500)
			}
		}
	}
	assert.Equal(t, sum, st.Bytes, "Bytes is what the held entries count")
}

// TestResizeValueRefusesWhatTheKeyNoLongerHolds: a resize counts for the
// value the caller stored, only while the key holds that very value: not
// after it was overwritten (even with an equal value), deleted, cleared or
// expired, not for a byte value, and not with a negative size.
func TestResizeValueRefusesWhatTheKeyNoLongerHolds(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		change func(t *testing.T, s *simple.Store, clock *testutil.Clock)
		size   int
	}{
		{"overwritten with another value", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			require.NoError(t, s.StoreValue("k", new(int), 100, time.Minute))
		}, 1000},
		{"overwritten with a byte value", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Minute))
		}, 1000},
		{"deleted", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			require.NoError(t, s.Delete(ctx, "k"))
		}, 1000},
		{"cleared", func(t *testing.T, s *simple.Store, _ *testutil.Clock) {
			require.NoError(t, s.Clear(ctx))
		}, 1000},
		{"expired", func(t *testing.T, s *simple.Store, clock *testutil.Clock) {
			clock.Advance(time.Minute)
		}, 1000},
		{"a negative size", func(*testing.T, *simple.Store, *testutil.Clock) {}, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := testutil.NewClock()
			s := open(t, simple.Options{Shards: 1, SweepInterval: -1, Clock: clock.Now})
			v := new(int)
			require.NoError(t, s.StoreValue("k", v, 100, time.Minute))
			tc.change(t, s, clock)
			before := s.Stats()
			assert.False(t, s.ResizeValue("k", v, tc.size))
			assert.Equal(t, before, s.Stats(), "nothing changed")
		})
	}
	t.Run("another key", func(t *testing.T) {
		s := open(t, simple.Options{Shards: 1, SweepInterval: -1})
		v := new(int)
		require.NoError(t, s.StoreValue("k", v, 100, 0))
		assert.False(t, s.ResizeValue("other", v, 1000))
		assert.Equal(t, valueBytes("k", 100), s.Stats().Bytes)
	})
	t.Run("closed", func(t *testing.T) {
		s := open(t, simple.Options{Shards: 1, SweepInterval: -1})
		v := new(int)
		require.NoError(t, s.StoreValue("k", v, 100, 0))
		require.NoError(t, s.Close())
		assert.False(t, s.ResizeValue("k", v, 1000))
	})
}

// TestResizeValueOverTheLimitRemovesTheEntry: a value grown past
// MaxValueSize is not held any more, as a write of that size would leave
// nothing: the entry is removed (its Dropper told) and the call reports
// false.
func TestResizeValueOverTheLimitRemovesTheEntry(t *testing.T) {
	s := open(t, simple.Options{MaxBytes: 1000, Shards: 4, SweepInterval: -1})
	limit := int(s.MaxValueSize())
	d := new(dropper)
	require.NoError(t, s.StoreValue("k", d, 8, 0))
	require.True(t, s.ResizeValue("k", d, limit-1-simple.ValueOverhead), "exactly the limit fits")
	require.Zero(t, d.n.Load())

	assert.False(t, s.ResizeValue("k", d, limit-simple.ValueOverhead))
	_, ok := s.LoadValue("k")
	assert.False(t, ok, "removed")
	st := s.Stats()
	assert.Zero(t, st.Entries)
	assert.Zero(t, st.Bytes)
	assert.Zero(t, st.Evictions, "a removal, not an eviction")
	assert.Equal(t, int32(1), d.n.Load(), "its Dropper is told")
}

// TestResizeValueKeepsTheEntrysLifeAndUse: the resized entry expires when
// it would have, is not told it was dropped (the store still holds it),
// and keeps its SIEVE visited bit as it was: a resize is not a use.
func TestResizeValueKeepsTheEntrysLifeAndUse(t *testing.T) {
	t.Run("TTL", func(t *testing.T) {
		clock := testutil.NewClock()
		s := open(t, simple.Options{Shards: 1, SweepInterval: -1, Clock: clock.Now})
		d := new(dropper)
		require.NoError(t, s.StoreValue("k", d, 8, time.Minute))
		clock.Advance(30 * time.Second)
		require.True(t, s.ResizeValue("k", d, 800))
		assert.Zero(t, d.n.Load(), "not dropped: still held")
		clock.Advance(29 * time.Second)
		_, ok := s.LoadValue("k")
		require.True(t, ok)
		clock.Advance(time.Second)
		_, ok = s.LoadValue("k")
		assert.False(t, ok, "expired at its deadline, not a minute after the resize")
		// A read never drops a Dropper (TestReadsNeverRunDroppers): the
		// delete of the expired entry does, once.
		require.NoError(t, s.Delete(context.Background(), "k"))
		assert.Equal(t, int32(1), d.n.Load(), "dropped once, on removal")
	})
	t.Run("SIEVE", func(t *testing.T) {
		s := open(t, simple.Options{MaxEntries: 3, Shards: 1, SweepInterval: -1})
		va, vb, vc := new(int), new(int), new(int)
		require.NoError(t, s.StoreValue("a", va, 8, 0))
		require.NoError(t, s.StoreValue("b", vb, 8, 0))
		require.NoError(t, s.StoreValue("c", vc, 8, 0))
		_, ok := s.LoadValue("a") // a is visited; b and c are not
		require.True(t, ok)
		require.True(t, s.ResizeValue("a", va, 16))
		require.True(t, s.ResizeValue("b", vb, 16))
		require.NoError(t, s.StoreValue("d", new(int), 8, 0))
		// The hand starts at a: visited, it is spared; b, not visited,
		// goes. Had the resize cleared a's bit, a would go; had it set b's,
		// c would.
		for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
			_, ok := s.LoadValue(k)
			assert.Equal(t, want, ok, "%s held", k)
		}
	})
}

// TestResizeValueMatchesByIdentity: a value is matched by identity, never
// compared with ==, so that values of types == panics on (maps, slices,
// structs holding them) are resized, and an equal value made anew is not
// the stored one.
func TestResizeValueMatchesByIdentity(t *testing.T) {
	type holder struct{ x any }
	one, two := 1, 2
	s := open(t, simple.Options{Shards: 1, SweepInterval: -1})
	// Values of other kinds are never resized: Go may box equal ones in
	// one place, so that a value stored in place of another would match.
	for name, mk := range map[string]func() any{
		"slice":                  func() any { return []int{1, 2} },
		"struct holding a slice": func() any { return holder{[]int{1}} },
		"small int":              func() any { return 7 },
		"zero struct":            func() any { return holder{} },
		"string":                 func() any { return "const" },
		"bool":                   func() any { return true },
	} {
		t.Run(name, func(t *testing.T) {
			first := mk()
			require.NoError(t, s.StoreValue(name, first, 8, 0))
			require.NoError(t, s.StoreValue(name, mk(), 8, 0)) // replaced by an equal value
			assert.NotPanics(t, func() {
				assert.False(t, s.ResizeValue(name, first, 100), "the replaced value")
				loaded, ok := s.LoadValue(name)
				require.True(t, ok)
				assert.False(t, s.ResizeValue(name, loaded, 100), "a value that is not a pointer")
			})
		})
	}
	cases := map[string]struct{ stored, other any }{
		"map":     {map[string]int{"a": 1}, map[string]int{"a": 1}},
		"func":    {func() int { return one }, func() int { return two }},
		"pointer": {new(int), new(int)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, s.StoreValue(name, tc.stored, 8, 0))
			assert.NotPanics(t, func() {
				assert.False(t, s.ResizeValue(name, tc.other, 100), "another value")
			})
			loaded, ok := s.LoadValue(name)
			require.True(t, ok)
			assert.NotPanics(t, func() {
				assert.True(t, s.ResizeValue(name, loaded, 100), "the value as loaded")
				assert.True(t, s.ResizeValue(name, tc.stored, 200), "the value as stored")
			})
		})
	}
}

// TestResizeValueConcurrently resizes, overwrites, deletes and reads keys
// at once (run it with -race): afterwards the byte total is still the sum
// of what the entries count, so deleting them all leaves 0.
func TestResizeValueConcurrently(t *testing.T) {
	const keys, workers, rounds = 16, 8, 2000
	s := open(t, simple.Options{MaxBytes: 64 << 10, Shards: 2, SweepInterval: -1})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				k := fmt.Sprint("k", (i*7+w)%keys)
				switch i % 5 {
				case 0:
					_ = s.StoreValue(k, new(int), i%300, 0)
				case 1:
					_ = s.Delete(context.Background(), k)
				default:
					if v, ok := s.LoadValue(k); ok {
						s.ResizeValue(k, v, (i*13)%4000)
					}
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	assert.LessOrEqual(t, st.Bytes, int64(64<<10))
	for i := range keys {
		require.NoError(t, s.Delete(context.Background(), fmt.Sprint("k", i)))
	}
	st = s.Stats()
	assert.Zero(t, st.Entries)
	assert.Zero(t, st.Bytes, "the byte total stayed exact")
}
