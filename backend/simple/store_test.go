package simple_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// open returns a new store with opts, closed when the test ends.
// twoTo31 is 2^31, a variable: as a constant it does not compile where int
// has 32 bits (it wraps there, to a negative MaxEntries, refused as well).
var twoTo31 int64 = 1 << 31

func open(t *testing.T, opts simple.Options) *simple.Store {
	t.Helper()
	s, err := simple.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Run("fake-clock", func(t *testing.T) {
		clock := testutil.NewClock()
		limit := simple.Must(simple.Options{}).MaxValueSize()
		backendtest.RunWith(t, func(t *testing.T) backend.Backend {
			return simple.Must(simple.Options{Clock: clock.Now})
		}, backendtest.Options{Advance: clock.Advance, TooLarge: int(limit)})
	})
	t.Run("real-clock/shards=1", func(t *testing.T) {
		if testing.Short() {
			t.Skip("sleeps for expiry")
		}
		backendtest.Run(t, func(t *testing.T) backend.Backend {
			return simple.Must(simple.Options{Shards: 1})
		})
	})
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	cases := []struct {
		name  string
		opts  simple.Options
		field string
	}{
		{"negative MaxEntries", simple.Options{MaxEntries: -1}, "MaxEntries"},
		{"negative MaxBytes", simple.Options{MaxBytes: -1}, "MaxBytes"},
		{"negative Shards", simple.Options{Shards: -2}, "Shards"},
		{"Shards not a power of two", simple.Options{Shards: 3}, "Shards"},
		{"Shards too many", simple.Options{Shards: simple.MaxShards * 2}, "Shards"},
		{"Shards over MaxEntries", simple.Options{Shards: 8, MaxEntries: 4}, "Shards"},
		{"MaxBytes under one entry's overhead", simple.Options{MaxBytes: simple.EntryOverhead}, "MaxBytes"},
		{"MaxBytes under one entry's overhead per shard", simple.Options{Shards: 4, MaxBytes: 4 * simple.EntryOverhead}, "MaxBytes"},
		{"MaxEntries over 2^31 per shard", simple.Options{Shards: 1, MaxEntries: math.MaxInt}, "MaxEntries"},
		{"MaxEntries of 2^30 per shard", simple.Options{Shards: 2, MaxEntries: int(twoTo31)}, "MaxEntries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := simple.New(tc.opts)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tc.field)
			assert.Contains(t, err.Error(), "simple: ")
			assert.Panics(t, func() { simple.Must(tc.opts) })
		})
	}
	t.Run("zero is valid", func(t *testing.T) {
		s := open(t, simple.Options{})
		assert.GreaterOrEqual(t, s.MaxValueSize(), int64(4<<20), "the default store takes values of 4 MiB")
	})
}

func TestBoundEntriesIsExact(t *testing.T) {
	ctx := context.Background()
	for _, shards := range []int{1, 4, 0} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			const max = 100
			s := open(t, simple.Options{MaxEntries: max, Shards: shards})
			for i := range 10 * max {
				require.NoError(t, s.Set(ctx, strconv.Itoa(i), []byte("v"), 0))
				require.LessOrEqual(t, s.Stats().Entries, int64(max), "after %d sets", i+1)
			}
			st := s.Stats()
			if shards == 1 {
				assert.Equal(t, int64(max), st.Entries, "one shard fills to the bound")
			}
			assert.Equal(t, int64(10*max)-st.Entries, st.Evictions, "every entry not held was evicted")
			hits := 0
			for i := range 10 * max {
				if _, err := s.Get(ctx, strconv.Itoa(i)); err == nil {
					hits++
				}
			}
			assert.Equal(t, st.Entries, int64(hits))
		})
	}
}

func TestBoundBytesIsExact(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 20_000
	s := open(t, simple.Options{MaxBytes: maxBytes, Shards: 1})
	for i := range 2000 {
		key := fmt.Sprintf("k%04d", i)
		value := make([]byte, i%300)
		require.NoError(t, s.Set(ctx, key, value, 0))
		st := s.Stats()
		require.LessOrEqual(t, st.Bytes, int64(maxBytes), "after %d sets", i+1)
	}
	// The held entries add up to the reported bytes: key, value and
	// EntryOverhead each.
	require.NoError(t, s.Clear(ctx))
	const each = 200 // 5 bytes of key, 200-5-EntryOverhead of value
	for i := range maxBytes / each {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("k%04d", i), make([]byte, each-5-simple.EntryOverhead), 0))
	}
	st := s.Stats()
	assert.Equal(t, int64(maxBytes), st.Bytes)
	assert.Equal(t, int64(maxBytes/each), st.Entries)
	require.NoError(t, s.Set(ctx, "k0100", make([]byte, each-5-simple.EntryOverhead), 0))
	after := s.Stats()
	assert.Equal(t, int64(maxBytes), after.Bytes)
	assert.Equal(t, int64(maxBytes/each), after.Entries)
	assert.Equal(t, st.Evictions+1, after.Evictions)
}

// A flood of empty entries counts their bookkeeping: a store of 256 KiB
// holds 256 KiB/EntryOverhead of them at most, not all of them.
func TestBoundBytesCountsTheOverheadOfTinyEntries(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 256 << 10
	s := open(t, simple.Options{MaxBytes: maxBytes, MaxEntries: 1 << 29, Shards: 1})
	for i := range 1 << 16 {
		require.NoError(t, s.Set(ctx, strconv.Itoa(i), nil, 0))
	}
	st := s.Stats()
	assert.LessOrEqual(t, st.Bytes, int64(maxBytes))
	assert.LessOrEqual(t, st.Entries, int64(maxBytes/simple.EntryOverhead))
	assert.Greater(t, st.Entries, int64(maxBytes/(simple.EntryOverhead+8)), "the bound is used")
}

func TestValueTooLarge(t *testing.T) {
	ctx := context.Background()
	s := open(t, simple.Options{MaxBytes: 1000, Shards: 4})
	limit := int(s.MaxValueSize())
	require.Equal(t, 250, limit)
	key := "key" // 3 bytes of the limit
	fits := limit - len(key) - simple.EntryOverhead

	require.NoError(t, s.Set(ctx, key, make([]byte, fits), 0), "an entry of exactly the limit fits")
	err := s.Set(ctx, key, make([]byte, fits+1), 0)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	_, err = s.Get(ctx, key)
	assert.ErrorIs(t, err, backend.ErrNotFound, "a failed Set leaves no older value readable")

	ok, err := s.Add(ctx, "other", make([]byte, 2000), 0)
	assert.False(t, ok)
	assert.ErrorIs(t, err, backend.ErrValueTooLarge)
	assert.ErrorIs(t, s.SetMany(ctx, []backend.Item{{Key: "big", Value: make([]byte, 2000)}}), backend.ErrValueTooLarge)
	require.NoError(t, s.StoreValue("v", 1, limit-1-simple.ValueOverhead, 0), "a Go value of exactly the limit fits")
	assert.ErrorIs(t, s.StoreValue("v", 1, limit-simple.ValueOverhead, 0), backend.ErrValueTooLarge)
	_, ok = s.LoadValue("v")
	assert.False(t, ok)
	assert.Zero(t, s.Stats().Entries)
	assert.Zero(t, s.Stats().Evictions, "a rejected value evicts nothing")
}

func TestHitProtectsFromEviction(t *testing.T) {
	ctx := context.Background()
	s := open(t, simple.Options{MaxEntries: 10, Shards: 1})
	for i := range 10 {
		require.NoError(t, s.Set(ctx, strconv.Itoa(i), []byte("v"), 0))
	}
	_, err := s.Get(ctx, "0") // the oldest, but read
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "new", []byte("v"), 0))
	_, err = s.Get(ctx, "0")
	assert.NoError(t, err, "the read entry survives")
	_, err = s.Get(ctx, "1")
	assert.ErrorIs(t, err, backend.ErrNotFound, "the oldest unread entry is evicted")
}

func TestHotKeysSurviveScan(t *testing.T) {
	ctx := context.Background()
	const capacity = 100
	s := open(t, simple.Options{MaxEntries: capacity, Shards: 1})
	hot := []string{"hot1", "hot2", "hot3", "hot4", "hot5"}
	for _, k := range hot {
		require.NoError(t, s.Set(ctx, k, []byte(k), 0))
	}
	// A scan of 100x the capacity in cold keys, each read once at most,
	// while the hot keys keep being read.
	for i := range 100 * capacity {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("cold%d", i), []byte("c"), 0))
		for _, k := range hot {
			v, err := s.Get(ctx, k)
			require.NoError(t, err, "hot key %s evicted after %d cold keys", k, i+1)
			require.Equal(t, k, string(v))
		}
	}
	assert.Equal(t, int64(100*capacity+len(hot)-capacity), s.Stats().Evictions)
}

// Flask's SimpleCache pruned entries without expiry first; eviction here is
// by use, whatever the TTL.
func TestNeverExpiringEntriesAreNotEvictedFirst(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name         string
		first, later time.Duration // TTLs of the older and newer halves
	}{
		{"ttl entries older", time.Hour, 0},
		{"forever entries older", 0, time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, simple.Options{MaxEntries: 10, Shards: 1})
			for i := range 5 {
				require.NoError(t, s.Set(ctx, fmt.Sprintf("old%d", i), []byte("v"), tc.first))
			}
			for i := range 5 {
				require.NoError(t, s.Set(ctx, fmt.Sprintf("new%d", i), []byte("v"), tc.later))
			}
			for _, k := range []string{"new0", "new1", "new2", "new3", "new4"} {
				_, err := s.Get(ctx, k)
				require.NoError(t, err)
			}
			for i := range 5 {
				require.NoError(t, s.Set(ctx, fmt.Sprintf("newest%d", i), []byte("v"), 0))
			}
			for i := range 5 {
				_, err := s.Get(ctx, fmt.Sprintf("old%d", i))
				assert.ErrorIs(t, err, backend.ErrNotFound, "old%d: the unread older entries go", i)
				_, err = s.Get(ctx, fmt.Sprintf("new%d", i))
				assert.NoError(t, err, "new%d: the read entries stay", i)
			}
		})
	}
}

func TestExpiredEntriesMetByTheHandGoFirst(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock()
	s := open(t, simple.Options{MaxEntries: 4, Shards: 1, Clock: clock.Now})
	require.NoError(t, s.Set(ctx, "a", []byte("v"), 0))
	require.NoError(t, s.Set(ctx, "short", []byte("v"), time.Second))
	require.NoError(t, s.Set(ctx, "c", []byte("v"), 0))
	require.NoError(t, s.Set(ctx, "d", []byte("v"), 0))
	_, err := s.Get(ctx, "a")
	require.NoError(t, err)
	clock.Advance(2 * time.Second)
	require.NoError(t, s.Set(ctx, "e", []byte("v"), 0))
	for _, k := range []string{"a", "c", "d", "e"} {
		_, err := s.Get(ctx, k)
		assert.NoError(t, err, k)
	}
	assert.Zero(t, s.Stats().Evictions, "removing an expired entry is not an eviction")
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock()
	s := open(t, simple.Options{Clock: clock.Now})
	require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Minute))
	require.NoError(t, s.StoreValue("obj", 1, 8, time.Minute))
	clock.Advance(time.Minute - time.Nanosecond)
	_, err := s.Get(ctx, "k")
	require.NoError(t, err)
	clock.Advance(time.Nanosecond)
	_, err = s.Get(ctx, "k")
	require.ErrorIs(t, err, backend.ErrNotFound, "expired at exactly its TTL")
	_, ok := s.LoadValue("obj")
	require.False(t, ok)
	got, err := s.GetMany(ctx, []string{"k"})
	require.NoError(t, err)
	assert.Nil(t, got[0])
	assert.Zero(t, s.Stats().Entries, "reads remove the expired entries they find")

	require.NoError(t, s.Set(ctx, "huge", []byte("v"), time.Duration(1<<63-1)))
	clock.Advance(100 * 365 * 24 * time.Hour)
	_, err = s.Get(ctx, "huge")
	assert.NoError(t, err, "the largest TTL does not overflow into the past")
}

func TestSweepRemovesExpiredEntriesAndStopsOnClose(t *testing.T) {
	// synctest fails the test if the sweep goroutine outlives Close.
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s, err := simple.New(simple.Options{SweepInterval: time.Minute})
		require.NoError(t, err)
		for i := range 100 {
			require.NoError(t, s.Set(ctx, fmt.Sprintf("short%d", i), []byte("v"), 30*time.Second))
			require.NoError(t, s.Set(ctx, fmt.Sprintf("forever%d", i), []byte("v"), 0))
		}
		require.Equal(t, int64(200), s.Stats().Entries)
		time.Sleep(59 * time.Second)
		synctest.Wait()
		assert.Equal(t, int64(200), s.Stats().Entries, "no sweep before the interval")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		st := s.Stats()
		assert.Equal(t, int64(100), st.Entries, "the sweep removed the expired entries without a read")
		assert.Zero(t, st.Evictions)
		require.NoError(t, s.Close())
		require.NoError(t, s.Close())
	})
}

func TestNoSweepGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := simple.New(simple.Options{SweepInterval: -1})
		require.NoError(t, err)
		require.NoError(t, s.Set(context.Background(), "k", []byte("v"), time.Second))
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, int64(1), s.Stats().Entries, "nothing swept")
		// Returning without Close: synctest would fail on a running goroutine.
	})
}

func TestValueStore(t *testing.T) {
	ctx := context.Background()
	type page struct{ Body string }

	t.Run("round trip, invisible to Get", func(t *testing.T) {
		s := open(t, simple.Options{})
		p := &page{Body: "hello"}
		require.NoError(t, s.StoreValue("p", p, 100, 0))
		v, ok := s.LoadValue("p")
		require.True(t, ok)
		assert.Same(t, p, v.(*page), "values are held without copying")
		_, err := s.Get(ctx, "p")
		assert.ErrorIs(t, err, backend.ErrNotFound)
		has, err := s.Has(ctx, "p")
		require.NoError(t, err)
		assert.False(t, has)
		got, err := s.GetMany(ctx, []string{"p"})
		require.NoError(t, err)
		assert.Nil(t, got[0])

		require.NoError(t, s.Set(ctx, "b", []byte("bytes"), 0))
		_, ok = s.LoadValue("b")
		assert.False(t, ok, "LoadValue does not see byte values")
		_, err = s.Incr(ctx, "p", 1)
		assert.ErrorIs(t, err, backend.ErrNotInteger)
	})
	t.Run("one key space", func(t *testing.T) {
		s := open(t, simple.Options{})
		require.NoError(t, s.StoreValue("k", 1, 8, 0))
		ok, err := s.Add(ctx, "k", []byte("v"), 0)
		require.NoError(t, err)
		assert.False(t, ok, "a live Go value makes Add fail")
		require.NoError(t, s.Set(ctx, "k", []byte("v"), 0))
		_, ok = s.LoadValue("k")
		assert.False(t, ok, "Set replaced the Go value")
		ok, err = s.AddValue("k", 2, 8, 0)
		require.NoError(t, err)
		assert.False(t, ok, "a live byte value makes AddValue fail")
	})
	t.Run("bytes and entries", func(t *testing.T) {
		s := open(t, simple.Options{})
		require.NoError(t, s.StoreValue("key", 1, 1000, 0))
		assert.Equal(t, backend.Stats{Entries: 1, Bytes: 1003 + simple.ValueOverhead}, s.Stats())
		require.NoError(t, s.StoreValue("key", 1, 10, 0))
		assert.Equal(t, backend.Stats{Entries: 1, Bytes: 13 + simple.ValueOverhead}, s.Stats())
		err := s.StoreValue("key", 1, -1, 0)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "size")
		assert.ErrorIs(t, s.StoreValue("key", 1, 1, -time.Second), backend.ErrInvalidTTL)
	})
	t.Run("delete, clear", func(t *testing.T) {
		s := open(t, simple.Options{})
		require.NoError(t, s.StoreValue("a", 1, 1, 0))
		require.NoError(t, s.StoreValue("b", 2, 1, 0))
		require.NoError(t, s.Delete(ctx, "a"))
		_, ok := s.LoadValue("a")
		assert.False(t, ok)
		require.NoError(t, s.Clear(ctx))
		_, ok = s.LoadValue("b")
		assert.False(t, ok)
	})
	t.Run("expiry and AddValue", func(t *testing.T) {
		clock := testutil.NewClock()
		s := open(t, simple.Options{Clock: clock.Now})
		ok, err := s.AddValue("k", "first", 5, time.Second)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.AddValue("k", "second", 6, time.Second)
		require.NoError(t, err)
		require.False(t, ok)
		clock.Advance(time.Second)
		_, ok = s.LoadValue("k")
		assert.False(t, ok)
		ok, err = s.AddValue("k", "third", 5, 0)
		require.NoError(t, err)
		require.True(t, ok, "AddValue on an expired key stores")
		v, _ := s.LoadValue("k")
		assert.Equal(t, "third", v)
	})
	t.Run("eviction", func(t *testing.T) {
		s := open(t, simple.Options{MaxEntries: 2, Shards: 1})
		require.NoError(t, s.StoreValue("a", 1, 1, 0))
		require.NoError(t, s.Set(ctx, "b", []byte("v"), 0))
		require.NoError(t, s.StoreValue("c", 3, 1, 0))
		_, ok := s.LoadValue("a")
		assert.False(t, ok)
		assert.Equal(t, int64(1), s.Stats().Evictions)
	})
}

func TestIncr(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock()
	s := open(t, simple.Options{Clock: clock.Now})

	require.NoError(t, s.Set(ctx, "c", []byte("10"), time.Minute))
	n, err := s.Incr(ctx, "c", -15)
	require.NoError(t, err)
	assert.Equal(t, int64(-5), n)
	v, err := s.Get(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, "-5", string(v))
	clock.Advance(time.Minute)
	_, err = s.Get(ctx, "c")
	assert.ErrorIs(t, err, backend.ErrNotFound, "Incr keeps the expiry")
	n, err = s.Incr(ctx, "c", 2)
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "an expired counter restarts from 0")
	clock.Advance(time.Hour)
	_, err = s.Get(ctx, "c")
	assert.NoError(t, err, "a counter Incr creates does not expire")

	old, err := s.Get(ctx, "c")
	require.NoError(t, err)
	_, err = s.Incr(ctx, "c", 1)
	require.NoError(t, err)
	assert.Equal(t, "2", string(old), "a slice returned by Get is not changed by a later Incr")

	require.NoError(t, s.Set(ctx, "max", []byte(strconv.FormatInt(1<<63-1, 10)), 0))
	_, err = s.Incr(ctx, "max", 1)
	assert.ErrorIs(t, err, backend.ErrNotInteger)
	require.NoError(t, s.Set(ctx, "min", []byte(strconv.FormatInt(-1<<63, 10)), 0))
	_, err = s.Incr(ctx, "min", -1)
	assert.ErrorIs(t, err, backend.ErrNotInteger)
	assert.Equal(t, backend.Stats{Entries: 3, Bytes: 1 + 1 + 3 + 19 + 3 + 20 + 3*simple.EntryOverhead}, s.Stats(), "c=3, max, min: failed Incrs changed nothing")
}

func TestOnEvictIsCalledOutsideTheLock(t *testing.T) {
	ctx := context.Background()
	var s *simple.Store
	var evicted []string
	s = open(t, simple.Options{MaxEntries: 3, Shards: 1, OnEvict: func(key string) {
		evicted = append(evicted, key)
		_, _ = s.Get(ctx, key) // would deadlock under the lock
		_ = s.Set(ctx, "from-callback", []byte("v"), 0)
	}})
	for _, k := range []string{"a", "b", "c", "d"} {
		require.NoError(t, s.Set(ctx, k, []byte("v"), 0))
	}
	require.NotEmpty(t, evicted)
	assert.Equal(t, "a", evicted[0])
	assert.Equal(t, int64(len(evicted)), s.Stats().Evictions)
	assert.LessOrEqual(t, s.Stats().Entries, int64(3))
}

// TestStoreValueDeferredTellsOnEvictOnNotify: a StoreValueDeferred that
// evicts calls no OnEvict until its caller calls Notify (package caching
// calls it once it has released the lock an OnEvict may need); a write
// that evicts nothing, or that fails, returns nothing to tell.
func TestStoreValueDeferredTellsOnEvictOnNotify(t *testing.T) {
	var evicted []string
	s := open(t, simple.Options{MaxEntries: 1, Shards: 1, MaxBytes: 1 << 20, OnEvict: func(key string) {
		evicted = append(evicted, key)
	}})
	ev, err := s.StoreValueDeferred("a", 1, 8, 0)
	require.NoError(t, err)
	ev.Notify() // nothing evicted
	ev, err = s.StoreValueDeferred("b", 2, 8, 0)
	require.NoError(t, err)
	assert.Empty(t, evicted, "OnEvict called before Notify")
	_, ok := s.LoadValue("a")
	assert.False(t, ok, "a not evicted")
	v, ok := s.LoadValue("b")
	assert.True(t, ok)
	assert.Equal(t, 2, v)
	ev.Notify()
	assert.Equal(t, []string{"a"}, evicted)
	assert.Equal(t, int64(1), s.Stats().Evictions)

	ev, err = s.StoreValueDeferred("c", 3, 2<<20, 0)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	ev.Notify()
	_, err = s.StoreValueDeferred("c", 3, -1, 0)
	require.Error(t, err)
	var zero simple.Evictions
	zero.Notify()
	assert.Equal(t, []string{"a"}, evicted)
}

func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	s, err := simple.New(simple.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "k", []byte("v"), 0))
	require.NoError(t, s.StoreValue("o", 1, 1, 0))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	calls := map[string]error{}
	_, calls["Get"] = s.Get(ctx, "k")
	calls["Set"] = s.Set(ctx, "k", nil, 0)
	_, calls["Add"] = s.Add(ctx, "k", nil, 0)
	calls["Delete"] = s.Delete(ctx, "k")
	calls["Clear"] = s.Clear(ctx)
	_, calls["GetMany"] = s.GetMany(ctx, []string{"k"})
	calls["SetMany"] = s.SetMany(ctx, []backend.Item{{Key: "k"}})
	_, calls["Incr"] = s.Incr(ctx, "k", 1)
	_, calls["Has"] = s.Has(ctx, "k")
	calls["StoreValue"] = s.StoreValue("o", 1, 1, 0)
	_, calls["AddValue"] = s.AddValue("o", 1, 1, 0)
	for name, err := range calls {
		assert.ErrorIs(t, err, backend.ErrClosed, name)
	}
	_, ok := s.LoadValue("o")
	assert.False(t, ok)
	assert.Equal(t, int64(0), s.Stats().Entries, "Close releases the entries")
}

func TestGetHitDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	s := open(t, simple.Options{})
	require.NoError(t, s.Set(ctx, "forever", []byte("v"), 0))
	require.NoError(t, s.Set(ctx, "ttl", []byte("v"), time.Hour))
	require.NoError(t, s.StoreValue("obj", 1, 1, 0))
	for _, k := range []string{"forever", "ttl"} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := s.Get(ctx, k); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, k)
	}
	allocs := testing.AllocsPerRun(100, func() { _, _ = s.Get(ctx, "missing") })
	assert.Zero(t, allocs, "miss")
	allocs = testing.AllocsPerRun(100, func() { _, _ = s.LoadValue("obj") })
	assert.Zero(t, allocs, "LoadValue")
}

func TestConcurrentMixedUse(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock()
	const maxEntries = 64
	s := open(t, simple.Options{MaxEntries: maxEntries, MaxBytes: 8 << 10, Shards: 4, Clock: clock.Now, SweepInterval: time.Millisecond})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := strconv.Itoa((i * (g + 1)) % 200)
				var err error
				switch i % 10 {
				case 0:
					err = s.Set(ctx, k, make([]byte, i%100), time.Duration(i%3)*time.Millisecond)
				case 1:
					_, err = s.Add(ctx, k, []byte("a"), 0)
				case 2:
					_, err = s.Incr(ctx, "counter"+strconv.Itoa(g), 1)
				case 3:
					err = s.Delete(ctx, k)
				case 4:
					err = s.StoreValue(k, i, 10, 0)
				case 5:
					_, _ = s.LoadValue(k)
				case 6:
					_, err = s.GetMany(ctx, []string{k, "x", "y"})
				case 7:
					clock.Advance(time.Millisecond)
					st := s.Stats()
					if st.Entries > maxEntries || st.Bytes > 8<<10 {
						err = fmt.Errorf("bounds broken: %+v", st)
					}
				default:
					if v, gerr := s.Get(ctx, k); gerr == nil {
						_ = len(v)
					} else if !errors.Is(gerr, backend.ErrNotFound) {
						err = gerr
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	assert.LessOrEqual(t, st.Entries, int64(maxEntries))
	assert.LessOrEqual(t, st.Bytes, int64(8<<10))
}

// TestLoadValueAtUsesTheCallersClock checks that LoadValueAt judges expiry
// by the caller's reading of time.Now, and that a store with a clock of its
// own ignores it.
func TestLoadValueAtUsesTheCallersClock(t *testing.T) {
	s := simple.Must(simple.Options{SweepInterval: -1})
	defer s.Close()
	if err := s.StoreValue("k", "v", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.LoadValueAt("k", time.Now()); !ok || v != "v" {
		t.Fatalf("LoadValueAt(now) = %v, %v; want the value", v, ok)
	}
	if _, ok := s.LoadValueAt("k", time.Now().Add(2*time.Minute)); ok {
		t.Fatal("LoadValueAt two minutes ahead returned an entry with a one-minute TTL")
	}

	clock := testutil.NewClock()
	own := simple.Must(simple.Options{SweepInterval: -1, Clock: clock.Now})
	defer own.Close()
	if err := own.StoreValue("k", "v", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok := own.LoadValueAt("k", time.Now().Add(2*time.Minute)); !ok {
		t.Fatal("a store with its own clock judged expiry by the caller's time")
	}
	clock.Advance(2 * time.Minute)
	if _, ok := own.LoadValueAt("k", time.Now()); ok {
		t.Fatal("a store with its own clock missed its own expiry")
	}
}

// Readers take no lock: while writers insert, overwrite and delete other
// keys (which tombstones index places, reuses slots and rehashes the index)
// a key that stays is found on every read; with evictions too, no read
// returns another key's value.
func TestLockFreeReadsDuringChurn(t *testing.T) {
	t.Run("stayers always found", func(t *testing.T) {
		s := open(t, simple.Options{MaxEntries: 1 << 20, Shards: 2, SweepInterval: -1})
		churnWhileReading(t, s, true)
	})
	t.Run("with evictions", func(t *testing.T) {
		s := open(t, simple.Options{MaxEntries: 4096, Shards: 2, SweepInterval: -1})
		churnWhileReading(t, s, false)
		assert.NotZero(t, s.Stats().Evictions)
	})
}

func churnWhileReading(t *testing.T, s *simple.Store, stayersStay bool) {
	ctx := context.Background()
	const stay, churn = 64, 30_000
	for i := range stay {
		require.NoError(t, s.StoreValue("stay"+strconv.Itoa(i), i, 8, 0))
		require.NoError(t, s.Set(ctx, "bstay"+strconv.Itoa(i), []byte("bstay"+strconv.Itoa(i)), 0))
	}
	var stop atomic.Bool
	var writers, readers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := "churn" + strconv.Itoa(w) + ":" + strconv.Itoa(i%churn)
				switch i % 4 {
				case 0, 1:
					_ = s.Set(ctx, k, []byte(k), 0)
				case 2:
					_ = s.Delete(ctx, k)
				default:
					_ = s.StoreValue(k, k, len(k), 0)
				}
			}
		})
	}
	for r := range 2 {
		readers.Go(func() {
			for n := range 200_000 {
				i := (n*7 + r) % stay
				v, ok := s.LoadValue("stay" + strconv.Itoa(i))
				if ok && v != i || !ok && stayersStay {
					t.Errorf("LoadValue(stay%d) = %v, %v during churn", i, v, ok)
					return
				}
				k := "bstay" + strconv.Itoa(i)
				b, err := s.Get(ctx, k)
				if err == nil && string(b) != k || err != nil && stayersStay {
					t.Errorf("Get(%s) = %q, %v during churn", k, b, err)
					return
				}
				k = "churn" + strconv.Itoa(n%2) + ":" + strconv.Itoa(n%churn)
				if b, err := s.Get(ctx, k); err == nil && string(b) != k {
					t.Errorf("Get(%s) = %q: another key's value", k, b)
					return
				}
				if v, ok := s.LoadValue(k); ok && v != k {
					t.Errorf("LoadValue(%s) = %v: another key's value", k, v)
					return
				}
			}
		})
	}
	readers.Wait()
	stop.Store(true)
	writers.Wait()
}

// LoadValueBytesAt finds what LoadValueAt finds, without allocating, and
// keeps nothing of the caller's buffer.
func TestLoadValueBytesAt(t *testing.T) {
	clock := testutil.NewClock()
	s := open(t, simple.Options{SweepInterval: -1, Clock: clock.Now})
	require.NoError(t, s.StoreValue("page:1", "one", 3, time.Minute))
	require.NoError(t, s.Set(context.Background(), "bytes", []byte("v"), 0))
	buf := []byte("page:1")
	v, ok := s.LoadValueBytesAt(buf, time.Now())
	require.True(t, ok)
	assert.Equal(t, "one", v)
	_, ok = s.LoadValueBytesAt([]byte("bytes"), time.Now())
	assert.False(t, ok, "byte values are not Go values")
	copy(buf, "page:2") // the caller reuses its buffer
	_, ok = s.LoadValueBytesAt(buf, time.Now())
	assert.False(t, ok)
	v, ok = s.LoadValue("page:1")
	require.True(t, ok, "the store kept nothing of the buffer")
	assert.Equal(t, "one", v)
	copy(buf, "page:1")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = s.LoadValueBytesAt(buf, time.Now()) }))
	clock.Advance(time.Minute)
	_, ok = s.LoadValueBytesAt(buf, time.Now())
	assert.False(t, ok, "expired")
	assert.Equal(t, int64(1), s.Stats().Entries, "the expired entry was removed; the byte value stays")
}

// A zero time given to LoadValueAt is no reading: the store reads its own
// clock, rather than judging expiry at the year 1 (where nothing expires).
func TestLoadValueAtZeroReadsTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, simple.Options{SweepInterval: -1})
		require.NoError(t, s.StoreValue("k", "v", 1, time.Minute))
		_, ok := s.LoadValueAt("k", time.Time{})
		require.True(t, ok)
		time.Sleep(2 * time.Minute) // the bubble's fake clock
		_, ok = s.LoadValueAt("k", time.Time{})
		assert.False(t, ok, "LoadValueAt(zero) returned an expired entry")
		_, ok = s.LoadValueBytesAt([]byte("k"), time.Time{})
		assert.False(t, ok, "LoadValueBytesAt(zero) returned an expired entry")
	})
}

// Pinned values are kept apart from the entries: eviction, Delete, Clear
// and Close leave them, Get and LoadValue do not see them, and the first
// value pinned under a key is the one every later Pin returns.
func TestPin(t *testing.T) {
	s := simple.Must(simple.Options{SweepInterval: -1, MaxEntries: 4, Shards: 1})
	ctx := context.Background()
	first, second := new(int), new(int)
	assert.Same(t, first, s.Pin("g", first))
	assert.Same(t, first, s.Pin("g", second), "a second Pin replaced the first value")
	for i := range 100 {
		require.NoError(t, s.Set(ctx, fmt.Sprint("k", i), []byte("v"), 0))
	}
	require.NoError(t, s.Delete(ctx, "g"))
	require.NoError(t, s.Clear(ctx))
	_, ok := s.LoadValue("g")
	assert.False(t, ok, "a pinned value is not an entry")
	_, err := s.Get(ctx, "g")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	assert.Zero(t, s.Stats().Entries)
	require.NoError(t, s.Close())
	assert.Same(t, first, s.Pin("g", second), "the pinned value was lost")
}
