package caching

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/backend/memcached"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// everyBackend runs fn on a Cache over each kind of store a user can pick:
// the in-process one (its Go-value path), the same behind remote (the byte
// path), the filesystem store, and real Redis and memcached (skipped on a
// laptop, required in CI). Each gets a namespace of its own.
func everyBackend(t *testing.T, opts Options, fn func(t *testing.T, c *Cache)) {
	ns := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + fmt.Sprint("-", time.Now().UnixNano())
	open := map[string]func(t *testing.T) backend.Backend{
		"local":  func(t *testing.T) backend.Backend { return newSimple(t, nil) },
		"remote": func(t *testing.T) backend.Backend { return &remote{Backend: newSimple(t, nil)} },
		"filesystem": func(t *testing.T) backend.Backend {
			s, err := filesystem.New(filesystem.Options{Dir: t.TempDir()})
			require.NoError(t, err)
			return s
		},
		"redis": func(t *testing.T) backend.Backend {
			s, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: "caching-test:" + ns + ":"})
			require.NoError(t, err)
			return s
		},
		"memcached": func(t *testing.T) backend.Backend {
			s, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: strings.ReplaceAll(ns[max(0, len(ns)-60):], ":", "-"), Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			return s
		},
	}
	for _, name := range []string{"local", "remote", "filesystem", "redis", "memcached"} {
		t.Run(name, func(t *testing.T) {
			o := opts
			o.Backend = open[name](t)
			c, err := New(&o)
			require.NoError(t, err)
			t.Cleanup(func() {
				_ = c.Clear(context.Background())
				_ = c.Close()
			})
			fn(t, c)
		})
	}
}

// TestAddTinyTTLNegativeTTL: Add(ctx, k, v, time.Nanosecond) failed with
// "negative ttl" on remote stores, where Set with the same TTL succeeded:
// the time left was computed after the entry's life was over. A write whose
// life is over now replaces what was there and is never served.
func TestAddTinyTTLNegativeTTL(t *testing.T) {
	everyBackend(t, Options{}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		added, err := c.Add(ctx, "a", []byte("v"), time.Nanosecond)
		require.NoError(t, err)
		assert.True(t, added)
		_, err = c.Get(ctx, "a")
		assert.ErrorIs(t, err, ErrNotFound)

		require.NoError(t, c.Set(ctx, "s", []byte("old"), time.Hour))
		require.NoError(t, c.Set(ctx, "s", []byte("new"), time.Nanosecond))
		_, err = c.Get(ctx, "s")
		assert.ErrorIs(t, err, ErrNotFound, "the tiny write replaced the old value")
	})
}

// TestAddInjectedClockNoExpiry: with an injected clock, an entry written by
// Add was kept without expiry and served long after its TTL (the in-process
// path trusted the store, which reads another clock, to expire it).
func TestAddInjectedClockNoExpiry(t *testing.T) {
	clock := testutil.NewClock()
	everyBackend(t, Options{Clock: clock.Now}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		_, err := c.Add(ctx, "a", []byte("v"), time.Minute)
		require.NoError(t, err)
		require.NoError(t, c.Set(ctx, "s", []byte("v"), time.Minute))
		require.NoError(t, SetAs(ctx, c, "t", []string{"v"}, time.Minute))
		m := Memoize(c, "f", func(context.Context, int) (string, error) { return "v", nil }, TTL(time.Minute))
		_, err = m.Get(ctx, 1)
		require.NoError(t, err)
		_, err = c.Get(ctx, "a")
		require.NoError(t, err)

		clock.Advance(time.Hour)
		for _, k := range []string{"a", "s"} {
			_, err = c.Get(ctx, k)
			assert.ErrorIs(t, err, ErrNotFound, "%s is served past its TTL", k)
		}
		_, err = GetAs[[]string](ctx, c, "t")
		assert.ErrorIs(t, err, ErrNotFound)
		before := c.Stats().Misses
		_, err = m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, before+1, c.Stats().Misses, "the memoized result expired by the Cache's clock")
	})
}

// TestIncrAfterSetNotInteger: Set(k, "1") or SetAs(k, 1) then Incr failed
// with ErrNotInteger on every store, and GetAs[int64] of a counter missed
// (in process) or deleted the counter as a corrupt entry (elsewhere).
func TestIncrAfterSetNotInteger(t *testing.T) {
	everyBackend(t, Options{}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		require.NoError(t, c.Set(ctx, "a", []byte("1"), 0))
		n, err := c.Incr(ctx, "a", 1)
		require.NoError(t, err)
		assert.Equal(t, int64(2), n)

		require.NoError(t, SetAs(ctx, c, "b", 0, time.Hour))
		n, err = c.Incr(ctx, "b", 5)
		require.NoError(t, err)
		assert.Equal(t, int64(5), n)
		n, err = c.Decr(ctx, "b", 2)
		require.NoError(t, err)
		assert.Equal(t, int64(3), n)

		_, err = c.Incr(ctx, "counter", 41)
		require.NoError(t, err)
		got, err := GetAs[int64](ctx, c, "counter")
		require.NoError(t, err)
		assert.Equal(t, int64(41), got)
		u, err := GetAs[uint8](ctx, c, "counter")
		require.NoError(t, err)
		assert.Equal(t, uint8(41), u)

		// A read that cannot decode a live value as the type asked for is
		// an error, and deletes nothing.
		_, err = GetAs[string](ctx, c, "counter")
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrNotFound)
		v, err := c.Get(ctx, "counter")
		require.NoError(t, err)
		assert.Equal(t, "41", string(v), "the counter is still there")
		assert.Zero(t, c.Stats().Corrupt)

		// Tagged integers are entries (the tag check needs the envelope):
		// they read back, and Incr says they are not counters.
		require.NoError(t, c.Set(ctx, "tagged", []byte("7"), 0, Tags("t")))
		v, err = c.Get(ctx, "tagged")
		require.NoError(t, err)
		assert.Equal(t, "7", string(v))
	})
}

// TestPathVersionsNeverExpire: per-path versions had no TTL, so a flood of
// distinct paths left a version key per path behind forever. They expire
// now, four times the life of the entries that made them, and the entries
// never outlive them.
func TestPathVersionsNeverExpire(t *testing.T) {
	clock := testutil.NewClock()
	s := newSimple(t, clock)
	c := Must(&Options{Backend: s, Clock: clock.Now})
	ch := c.Cached(time.Minute)(&counter{})
	for i := range 100 {
		get(ch, fmt.Sprint("/flood/", i))
	}
	versionAlive := func(i int) bool {
		_, ok := s.LoadValue(c.pathTagKey(fmt.Sprint("/flood/", i)))
		return ok
	}
	require.True(t, versionAlive(0))
	clock.Advance(2 * time.Minute)
	assert.True(t, versionAlive(99), "a version outlives its entries")
	clock.Advance(2*time.Minute + time.Second)
	for i := range 100 {
		require.False(t, versionAlive(i), "the flood left the version of /flood/%d behind", i)
	}

	// An entry written when its version has less than the entry's life
	// left renews the version (RefreshAhead keeps a hot key alive past
	// it): the entry lives its whole life, and the entries written under
	// the old version are misses from then on, never served past it.
	h := &counter{}
	ch = c.Cached(time.Minute)(h)
	get(ch, "/a?v=1")                             // creates the version of /a: 4 minutes
	clock.Advance(2*time.Minute + 59*time.Second) // 61 s of version left
	get(ch, "/a?v=3")                             // stored under it
	clock.Advance(2 * time.Second)                // 59 s left
	get(ch, "/a?v=2")                             // renews it
	get(ch, "/a?v=3")
	assert.EqualValues(t, 4, h.calls.Load(), "an entry of the old version is a miss")
	clock.Advance(45 * time.Second)
	get(ch, "/a?v=2")
	assert.EqualValues(t, 4, h.calls.Load(), "the renewing entry lives its whole minute")
}

// TestTagVersionsReadBeforeHandler: a response computed before an
// invalidation and stored after it was served as fresh: the versions were
// read at store time. They are read before the handler runs now.
func TestTagVersionsReadBeforeHandler(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		n := 0
		ch := e.c.Cached(time.Minute, Tags("products"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n++
			if n == 1 {
				// The data changes while the handler runs on the old data.
				require.NoError(t, e.c.InvalidateTags(context.Background(), "products"))
			}
			fmt.Fprint(w, n)
		}))
		assert.Equal(t, "1", get(ch, "/p").Body.String())
		assert.Equal(t, "2", get(ch, "/p").Body.String(), "the response made from old data is not served")
		assert.Equal(t, "2", get(ch, "/p").Body.String())
	})
}

// TestMemoizedValuesEscapeMaxBytes: on the in-process store a Go value that
// was not []byte or a string counted as 64 bytes, so 300 memoized 1 MiB
// results held 301 MiB of heap under a 64 MiB bound. Values count at their
// size now, and the live heap stays within the bound.
func TestMemoizedValuesEscapeMaxBytes(t *testing.T) {
	const bound = 32 << 20
	s, err := simple.New(simple.Options{MaxBytes: bound, SweepInterval: -1})
	require.NoError(t, err)
	c := Must(&Options{Backend: s})
	defer c.Close()
	type report struct{ Rows []int64 } // 1 MiB
	m := Memoize(c, "report", func(_ context.Context, i int) (report, error) {
		return report{Rows: make([]int64, 1<<17)}, nil
	})
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 100 {
		_, err := m.Get(t.Context(), i)
		require.NoError(t, err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.LessOrEqual(t, s.Stats().Bytes, int64(bound))
	assert.Less(t, grown, int64(bound)*3/2, "100 MiB of results held %d MiB under a %d MiB bound", grown>>20, bound>>20)
	assert.Greater(t, s.Stats().Entries, int64(10), "the store still holds results")
}
