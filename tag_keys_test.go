package caching

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// searchTags is an ArgTags function that tags a search's results with the
// text a client searched for.
func searchTags(q string) []string { return []string{"q:" + q} }

// countingSearch memoizes a search that counts its calls, tagged by
// searchTags.
func countingSearch(c *Cache, calls *atomic.Int64) *Memoized[string, int] {
	return Memoize(c, "search", func(_ context.Context, q string) (int, error) {
		calls.Add(1)
		return len(q), nil
	}, ArgTags(searchTags))
}

// TestLongTagKeyIsShortened: the key of a tag's version held the whole tag
// (a tag made of a 100 KB argument made a 100 KB key, written to the
// backend and into every entry written under it), while the keys of paths
// and memoized calls are shortened. A tag of at most 200 bytes keeps its
// key byte for byte.
func TestLongTagKeyIsShortened(t *testing.T) {
	c := Must(&Options{KeyPrefix: "app:"})
	defer c.Close()
	short := strings.Repeat("t", maxReadableKey)
	assert.Equal(t, "app:t/"+short, c.tagKey(short), "a tag of 200 bytes keeps its key")
	assert.Equal(t, "app:t/user:42", c.tagKey("user:42"))
	long := strings.Repeat("t", 100<<10)
	k := c.tagKey(long)
	assert.LessOrEqual(t, len(k), len("app:")+len(kindTag)+maxReadableKey, "the key of a 100 KB tag")
	assert.NotEqual(t, k, c.tagKey(long+"u"), "two long tags share a key")
	assert.Equal(t, []string{k}, c.tagKeys([]string{long, long}), "tagKeys builds the keys tagKey builds")
}

// TestLongTagsInvalidate: a long tag's key is built the same way when an
// entry is written under it, when it is read and when the tag is
// invalidated, on every kind of store: InvalidateTags of a long tag ends
// the entries of a view, a memoized function (Tags and ArgTags) and the
// direct API written under it, and no other's.
func TestLongTagsInvalidate(t *testing.T) {
	ctx := context.Background()
	long := "report:" + strings.Repeat("r", 1000)
	other := long + "2"
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			c, _ := kind.open(t, nil, nil, Options{})
			defer c.Close()

			view, viewOther := &counter{}, &counter{}
			ch := c.Cached(time.Minute, Tags(long))(view)
			chOther := c.Cached(time.Minute, Tags(other))(viewOther)
			var calls, fixed atomic.Int64
			m := countingSearch(c, &calls)
			mt := Memoize(c, "fixed", func(context.Context, int) (int, error) { return int(fixed.Add(1)), nil }, Tags(long))
			require.NoError(t, c.Set(ctx, "direct", []byte("v"), time.Minute, Tags(long)))
			q := strings.Repeat("q", 1000)
			for range 2 {
				get(ch, "/report")
				get(chOther, "/other")
				_, err := m.Get(ctx, q)
				require.NoError(t, err)
				_, err = mt.Get(ctx, 1)
				require.NoError(t, err)
			}
			require.EqualValues(t, 1, view.calls.Load(), "the second request is a hit")
			require.EqualValues(t, 1, calls.Load(), "the second search is a hit")
			require.EqualValues(t, 1, fixed.Load(), "the second call is a hit")

			require.NoError(t, c.InvalidateTags(ctx, long, "q:"+q))
			get(ch, "/report")
			get(chOther, "/other")
			assert.EqualValues(t, 2, view.calls.Load(), "the view's request after InvalidateTags")
			assert.EqualValues(t, 1, viewOther.calls.Load(), "another long tag's entry is kept")
			_, err := m.Get(ctx, q)
			require.NoError(t, err)
			assert.EqualValues(t, 2, calls.Load(), "the search after InvalidateTags of its ArgTags tag")
			_, err = mt.Get(ctx, 1)
			require.NoError(t, err)
			assert.EqualValues(t, 2, fixed.Load(), "the memoized call after InvalidateTags")
			_, err = c.Get(ctx, "direct")
			assert.ErrorIs(t, err, ErrNotFound, "the direct entry after InvalidateTags")
		})
	}
}

// TestLongArgTagOnMemcached: a result tagged with a search text of 1 MiB,
// which a client may send, held the whole tag in its entry (the tag's key),
// which then did not fit memcached's item size: the result was never
// stored, and every search for that text ran the function again.
func TestLongArgTagOnMemcached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Long timeouts: the default 250ms of a memcached call timed out on a
	// loaded machine (an InvalidateTags' delete), and the test is about
	// what is stored.
	b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: fmt.Sprint("longargtag-", time.Now().UnixNano()),
		Timeout: 10 * time.Second})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, Timeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Clear(ctx); _ = c.Close() })
	var calls atomic.Int64
	m := countingSearch(c, &calls)
	q := strings.Repeat("x", memcached.DefaultMaxItemSize)
	for range 2 {
		n, err := m.Get(ctx, q)
		require.NoError(t, err)
		require.Equal(t, len(q), n)
	}
	assert.EqualValues(t, 1, calls.Load(), "the second search for the text is a hit")
	require.NoError(t, c.InvalidateTags(ctx, searchTags(q)...))
	_, err = m.Get(ctx, q)
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load(), "the search after InvalidateTags")
}

// TestTagOverMemcachedKeyLimitInvalidates pins that a tag whose key is
// over memcached's 250-byte limit works there: the memcached backend
// hashes the keys it cannot send as they are, so its version is written,
// read and deleted.
func TestTagOverMemcachedKeyLimitInvalidates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: fmt.Sprint("longtag-", time.Now().UnixNano()), Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Clear(ctx); _ = c.Close() })
	tag := strings.Repeat("t", 300)
	require.NoError(t, c.Set(ctx, "k", []byte("v"), time.Minute, Tags(tag)))
	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
	require.NoError(t, c.InvalidateTags(ctx, tag))
	_, err = c.Get(ctx, "k")
	assert.ErrorIs(t, err, ErrNotFound, "the entry after InvalidateTags")
}

// TestLongArgTagKeyOnRedis: a tag made of a 100 KB argument left a version
// key of 100 KB in Redis (and as much in each entry written under it).
func TestLongArgTagKeyOnRedis(t *testing.T) {
	ctx := context.Background()
	c, b, prefix := onRedis(t)
	var calls atomic.Int64
	m := countingSearch(c, &calls)
	q := strings.Repeat("x", 100<<10)
	for range 2 {
		_, err := m.Get(ctx, q)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, calls.Load(), "the second search is a hit")
	keys, err := b.Client().Keys(ctx, prefix+kindTag+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.LessOrEqual(t, len(keys[0]), len(prefix)+len(kindTag)+maxReadableKey, "the tag's version key")
	require.NoError(t, c.InvalidateTags(ctx, searchTags(q)...))
	_, err = m.Get(ctx, q)
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load(), "the search after InvalidateTags")
}
