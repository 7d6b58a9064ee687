package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// On backend/simple's store an entry points to the versions it was written
// under (memVersion), and a hit checks them without looking their keys up.
// These tests check that the pointer never answers differently from the
// lookup it replaces: whatever removes a version key from the store makes
// the entries written under it misses.

// memCache is a Cache on a simple.Store of its own, which it returns.
func memCache(t *testing.T, opts simple.Options) (*Cache, *simple.Store) {
	t.Helper()
	opts.SweepInterval = -1
	s := simple.Must(opts)
	c, err := New(&Options{Backend: s})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, s
}

// writeUnder stores an entry under key written under the versions vs.
func writeUnder(t *testing.T, c *Cache, key string, vs versionSet) {
	t.Helper()
	e := newEntry(c.now(), time.Minute, 0)
	e.Payload = []byte("v")
	require.NoError(t, c.store.save(context.Background(), key, e, vs))
}

func TestHitChecksPathVersionInMemory(t *testing.T) {
	c, _ := memCache(t, simple.Options{})
	ctx := context.Background()
	tags := []string{c.pathTagKey("/p"), c.tagKey("t")}
	vs, err := c.store.versions(ctx, tags, time.Minute)
	require.NoError(t, err)
	writeUnder(t, c, "v/x", vs)
	e, err := c.store.lookup(ctx, "v/x", nil, time.Time{})
	require.NoError(t, err)
	require.Len(t, e.mem, 2, "the entry points to both versions")
	for i, m := range e.mem {
		require.NotNil(t, m, "version %d", i)
	}
}

func TestLostPathVersionMakesAMiss(t *testing.T) {
	c, s := memCache(t, simple.Options{})
	ctx := context.Background()
	h := &counter{body: "x"}
	ch := c.Cached(time.Minute)(h)
	get(ch, "/p")
	get(ch, "/p")
	require.Equal(t, int64(1), h.calls.Load())

	// The version key is lost (as to eviction): the entry is a miss, as it
	// was when hits looked the version up.
	require.NoError(t, s.Delete(ctx, c.pathTagKey("/p")))
	get(ch, "/p")
	require.Equal(t, int64(2), h.calls.Load(), "served under a version the store no longer holds")
	get(ch, "/p")
	require.Equal(t, int64(2), h.calls.Load(), "the new entry is a hit")
	require.NoError(t, c.InvalidatePath(ctx, "/p"))
	get(ch, "/p")
	assert.Equal(t, int64(3), h.calls.Load(), "served after InvalidatePath")
}

// TestVersionDroppedWhileWritingMakesAMiss: an entry whose versions were
// read before its version key was removed (invalidated, cleared, replaced)
// is written, and must miss.
func TestVersionDroppedWhileWritingMakesAMiss(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		drop func(c *Cache, s *simple.Store, k string) error
	}{
		{"InvalidatePath", func(c *Cache, _ *simple.Store, _ string) error { return c.InvalidatePath(ctx, "/p") }},
		{"Clear", func(c *Cache, _ *simple.Store, _ string) error { return c.Clear(ctx) }},
		{"store Clear", func(_ *Cache, s *simple.Store, _ string) error { return s.Clear(ctx) }},
		{"replaced", func(_ *Cache, s *simple.Store, k string) error {
			v, _ := s.LoadValue(k)
			m := v.(*memVersion)
			same := &memVersion{until: m.until}
			same.n.Store(m.n.Load()) // even by the same number
			return s.StoreValue(k, same, memVersionSize, time.Hour)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := memCache(t, simple.Options{})
			pk := c.pathTagKey("/p")
			vs, err := c.store.versions(ctx, []string{pk}, time.Minute)
			require.NoError(t, err)
			require.NoError(t, tc.drop(c, s, pk))
			writeUnder(t, c, "v/x", vs)
			_, err = c.store.lookup(ctx, "v/x", nil, time.Time{})
			require.ErrorIs(t, err, ErrNotFound)

			vs, err = c.store.versions(ctx, []string{pk}, time.Minute)
			require.NoError(t, err)
			writeUnder(t, c, "v/x", vs)
			_, err = c.store.lookup(ctx, "v/x", nil, time.Time{})
			require.NoError(t, err, "written under the current version")
		})
	}
}

// TestEvictedVersionMakesAMiss fills a small store until the version key
// of the first path is evicted while its entry is not, and checks the
// entry misses.
func TestEvictedVersionMakesAMiss(t *testing.T) {
	ctx := context.Background()
	c, s := memCache(t, simple.Options{MaxEntries: 4, Shards: 1})
	pk := c.pathTagKey("/p")
	vs, err := c.store.versions(ctx, []string{pk}, time.Minute)
	require.NoError(t, err)
	writeUnder(t, c, "v/x", vs)
	// Keep the entry hot (visited) and let the version go cold: the SIEVE
	// hand evicts the first unvisited entry it meets.
	for i := 0; ; i++ {
		require.Less(t, i, 100, "the version key was never evicted")
		if vs.mem[0].dropped.Load() { // evicted (a lookup would visit it)
			break
		}
		_, _ = s.LoadValue("v/x") // visited
		require.NoError(t, s.Set(ctx, "filler"+string(rune('a'+i%26)), []byte("v"), 0))
	}
	_, held := s.LoadValue("v/x")
	require.True(t, held, "the entry was evicted too: nothing is tested")
	_, err = c.store.lookup(ctx, "v/x", nil, time.Time{})
	require.ErrorIs(t, err, ErrNotFound)
}
