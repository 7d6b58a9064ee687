package caching

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/memsize"
	"github.com/go-caching/caching/internal/testutil"
)

// onNearRedis returns a Cache on a near cache of maxBytes in front of the
// real Redis, under a prefix of the test's own, cleared when the test
// ends, with its near cache.
func onNearRedis(t *testing.T, maxBytes int64) (*Cache, *near.Store) {
	t.Helper()
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	remote, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: prefix})
	require.NoError(t, err)
	n, err := near.New(remote, near.Options{MaxBytes: maxBytes, MaxStale: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.WaitWatching(ctx))
	c, err := New(&Options{Backend: n, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
	return c, n
}

// awaitNews waits until n has had the news of every write made so far to
// its remote store (Redis's invalidations, on its watch). The news of the
// Cache's own writes comes back on the watch after they return, at any
// time: late, it drops what a read kept near meanwhile (a test that counted
// that value found an empty near cache, under load). It keeps a marker
// near, writes the marker's key remote behind n's back (n does not drop
// it), and waits for the news that drops it: Redis queues the news of a
// write on the watch's one connection in the order of the writes, and the
// watch reports it in that order, so the news of the writes before the
// marker's has come by then.
func awaitNews(t *testing.T, n *near.Store) {
	t.Helper()
	const marker = "await-news"
	v := new(int) // ResizeNear matches the kept value by identity
	// A keep is refused when a drop in its bucket (news still coming) lands
	// between its token and its keep: a few tries.
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "the marker is never kept near (watching: %v)", n.NearStats().Watching)
		n.StoreNear(marker, v, 1, 0, n.NearToken())
		if n.ResizeNear(marker, v, 1) {
			break
		}
	}
	require.NoError(t, n.Remote().Set(context.Background(), marker, []byte("x"), time.Minute))
	// A hang guard, not a timing: the news comes in milliseconds.
	for end := time.Now().Add(2 * time.Minute); n.ResizeNear(marker, v, 1); time.Sleep(time.Millisecond) {
		require.True(t, time.Now().Before(end), "the news of the marker's write never came")
	}
}

// spread is a value whose decoded form holds several times its JSON: a map
// of many short keys, each to a slice of one short string. Its JSON takes
// 12 bytes an item; decoded, an item takes a map slot of 41 bytes, the
// key's bytes, and a slice's array holding a string header.
func spread(items int) map[string][]string {
	m := make(map[string][]string, items)
	for j := range items {
		m[fmt.Sprintf("k%02d", j)] = []string{"v"}
	}
	return m
}

// TestNearCacheCountsDecodedValues: the near cache counted an entry as its
// payload twice, a guess at the value its first reader decodes and keeps
// there for the others. A value whose JSON is compact but decodes into
// maps and slices holds several times its payload, so a near cache of
// MaxBytes held several MaxBytes of heap. Now the reader that keeps the
// decoded value counts it: what the near cache counts covers what the
// value holds, and the live heap stays within the byte bound.
func TestNearCacheCountsDecodedValues(t *testing.T) {
	ctx := context.Background()
	const items = 100

	t.Run("one value counts what it holds", func(t *testing.T) {
		c, n := onNearRedis(t, 1<<20)
		require.NoError(t, SetAs(ctx, c, "v", spread(items), time.Hour))
		// The news of the write, come after a read kept the value, would
		// drop it: it has come first. The first read that is kept decodes
		// the value and keeps it near.
		awaitNews(t, n)
		var got map[string][]string
		for end := time.Now().Add(10 * time.Second); n.NearStats().Entries == 0; {
			require.True(t, time.Now().Before(end), "the entry is never kept near")
			var err error
			got, err = GetAs[map[string][]string](ctx, c, "v")
			require.NoError(t, err)
			require.Len(t, got, items)
		}
		after := n.NearStats()
		require.Equal(t, int64(1), after.Entries)
		payload, err := JSON.Marshal(got)
		require.NoError(t, err)
		held := memsize.Of(got)
		t.Logf("payload %d bytes; decoded value %d bytes; near cache counts %d", len(payload), held, after.Bytes)
		require.Greater(t, held, 3*len(payload), "the test's value decodes into several times its payload")
		require.GreaterOrEqual(t, after.Bytes, int64(held+len(payload)),
			"the near cache counts the payload and the decoded value it keeps")

		// Later hits decode nothing and count nothing more.
		for range 3 {
			again, err := GetAs[map[string][]string](ctx, c, "v")
			require.NoError(t, err)
			require.Len(t, again, items)
		}
		require.Equal(t, after.Bytes, n.NearStats().Bytes)
	})

	t.Run("a response counts its decoded header", func(t *testing.T) {
		// A view's entry decodes into a snapshot whose header map holds
		// several times its encoding when it has many short fields.
		c, n := onNearRedis(t, 1<<20)
		hdr := http.Header{}
		for j := range items {
			hdr.Set(fmt.Sprintf("X-H%02d", j), "v")
		}
		h := c.Cached(time.Hour)(&counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
			for k, v := range hdr {
				w.Header()[k] = v
			}
		}})
		require.Equal(t, http.StatusOK, get(h, "/many-headers").Code) // stored remote
		// The news of the store, which would drop what is kept before it,
		// has come.
		awaitNews(t, n)
		// Read until a request finds everything near: the one before it
		// read the entry remote, kept it and decoded it.
		for end := time.Now().Add(10 * time.Second); ; {
			require.True(t, time.Now().Before(end), "the entry is never served from the near cache")
			misses := n.NearStats().Misses
			rec := get(h, "/many-headers")
			require.Equal(t, "v", rec.Header().Get("X-H42"))
			if n.NearStats().Misses == misses {
				break
			}
		}
		held := memsize.Of(hdr)
		st := n.NearStats()
		t.Logf("header of %d fields holds %d bytes; near cache counts %d in %d entries", len(hdr), held, st.Bytes, st.Entries)
		require.GreaterOrEqual(t, st.Bytes, int64(held), "the near cache counts the decoded header it keeps")
	})

	t.Run("a memoized result counts what it holds", func(t *testing.T) {
		c, n := onNearRedis(t, 1<<20)
		var runs int
		f := Memoize(c, "spread", func(_ context.Context, items int) (map[string][]string, error) {
			runs++
			return spread(items), nil
		})
		// The first call computes and stores remote (the result and the
		// function's generation), and the news of those writes, which would
		// drop what a later call keeps before it comes, has come; the calls
		// after it read the entry remote until one is kept near, decoded,
		// and counted: a call that misses nothing near found everything
		// there. (Waiting for a first near entry and hit was not enough: the
		// function's generation version can be kept and hit before the
		// result is.)
		got, err := f.Get(ctx, items)
		require.NoError(t, err)
		require.Len(t, got, items)
		awaitNews(t, n)
		for end := time.Now().Add(10 * time.Second); ; {
			require.True(t, time.Now().Before(end), "the result is never served from the near cache")
			misses := n.NearStats().Misses
			got, err = f.Get(ctx, items)
			require.NoError(t, err)
			require.Len(t, got, items)
			if n.NearStats().Misses == misses && n.NearStats().Hits > 0 {
				break
			}
		}
		require.Equal(t, 1, runs)
		payload, err := JSON.Marshal(got)
		require.NoError(t, err)
		held := memsize.Of(got)
		st := n.NearStats()
		t.Logf("payload %d bytes; decoded value %d bytes; near cache counts %d in %d entries", len(payload), held, st.Bytes, st.Entries)
		require.GreaterOrEqual(t, st.Bytes, int64(held+len(payload)),
			"the near cache counts the payload and the decoded result it keeps")
	})

	t.Run("live heap stays within MaxBytes", func(t *testing.T) {
		if testing.Short() {
			t.Skip("writes a few MiB to Redis and measures the heap")
		}
		const (
			maxBytes = 1 << 20
			values   = 600 // several times what fits, counted rightly
			slack    = 512 << 10
		)
		c, n := onNearRedis(t, maxBytes)
		for i := range values {
			require.NoError(t, SetAs(ctx, c, fmt.Sprint("v", i), spread(items), time.Hour))
		}
		awaitNews(t, n) // of the writes: the reads below keep what they read
		liveHeap := func() int64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return int64(m.HeapAlloc)
		}
		// The writes warmed the client (its connections and buffers): the
		// heap is measured from an empty near cache.
		before := liveHeap()
		for i := range values {
			got, err := GetAs[map[string][]string](ctx, c, fmt.Sprint("v", i))
			require.NoError(t, err)
			require.Len(t, got, items)
		}
		held := liveHeap() - before
		st := n.NearStats()
		t.Logf("%d entries near, %d bytes counted, %d evicted; live heap %.2f MiB = %.2f×MaxBytes",
			st.Entries, st.Bytes, st.Evictions, float64(held)/(1<<20), float64(held)/maxBytes)
		require.Positive(t, st.Evictions, "the near cache was filled past its bound")
		require.LessOrEqual(t, st.Bytes, int64(maxBytes))
		require.LessOrEqual(t, held, int64(maxBytes*3/2+slack),
			"the near cache holds at most 1.5×MaxBytes (see backend/simple's heap test) plus %d", slack)
		runtime.KeepAlive(c)
	})
}
