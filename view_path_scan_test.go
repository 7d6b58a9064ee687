package caching

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// notFoundBut answers 404 for every path but /known.
var notFoundBut = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/known" {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, "known")
})

// entries is the live entries of an in-process backend.
func entries(t *testing.T, b backend.Backend) int64 {
	t.Helper()
	if r, ok := b.(*remote); ok {
		b = r.Backend
	}
	st, ok := b.(backend.Statser)
	require.True(t, ok)
	return st.Stats().Entries
}

// TestCachedPathScanLeavesNoKeys: each request for a path that existed only
// once (a scan of random URLs, answered 404) created that path's version
// key before its handler ran, and left it behind, refused response or not:
// a client could fill the store (or a shared Redis) with one key per
// request until the keys expired. A key the run created is now deleted
// when the response is refused for its status.
func TestCachedPathScanLeavesNoKeys(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.c.Cached(time.Minute)(notFoundBut)
		assert.Equal(t, "known", get(ch, "/known").Body.String())
		base := entries(t, e.store)
		require.Positive(t, base, "the stored entry and its path version")
		for i := range 200 {
			assert.Equal(t, http.StatusNotFound, get(ch, fmt.Sprint("/scan/", i)).Code)
		}
		e.c.wait() // the deletes of the keys, made after each response
		assert.Equal(t, base, entries(t, e.store), "a refused response leaves no key")
		// The stored path keeps its version: it is still a hit, and
		// InvalidatePath still reaches it.
		assert.Equal(t, "known", get(ch, "/known").Body.String())
		assert.EqualValues(t, 1, e.c.Stats().Hits)
		require.NoError(t, e.c.InvalidatePath(context.Background(), "/known"))
		get(ch, "/known")
		assert.EqualValues(t, 1, e.c.Stats().Hits, "invalidated")
	})
}

// TestSharedCachePathScanLeavesNoKeys: the same through SharedCache, where
// a 404 without freshness information is refused as no-freshness.
func TestSharedCachePathScanLeavesNoKeys(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/known" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprint(w, "known")
		}))
		get(ch, "/known")
		base := entries(t, e.store)
		for i := range 50 {
			assert.Equal(t, http.StatusNotFound, get(ch, fmt.Sprint("/scan/", i)).Code)
		}
		e.c.wait() // the deletes of the keys, made after each response
		assert.Equal(t, base, entries(t, e.store), "a refused response leaves no key")
		assert.Equal(t, "known", get(ch, "/known").Body.String())
		assert.EqualValues(t, 1, e.c.Stats().Hits)
	})
}

// TestSharedCachePathScanWithCookiesLeavesNoKeys: a site that sets a
// cookie on every response has its 404s refused for the cookie, not for
// their status: they leave no key either.
func TestSharedCachePathScanWithCookiesLeavesNoKeys(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.c.Cached(Forever, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "visit", Value: "1"})
			w.Header().Set("Cache-Control", "max-age=60")
			http.NotFound(w, r)
		}))
		base := entries(t, e.store)
		for i := range 50 {
			assert.Equal(t, http.StatusNotFound, get(ch, fmt.Sprint("/scan/", i)).Code)
		}
		e.c.wait() // the deletes of the keys, made after each response
		assert.Equal(t, base, entries(t, e.store), "a refused 404 leaves no key")
	})
}

// TestCachedPathScanLeavesNoKeysOnRedis is TestCachedPathScanLeavesNoKeys on
// a real Redis: the keys a scan would leave are on a server other
// processes share.
func TestCachedPathScanLeavesNoKeysOnRedis(t *testing.T) {
	ctx := context.Background()
	c, b, prefix := onRedis(t)
	ch := c.Cached(time.Minute)(notFoundBut)
	get(ch, "/known")
	for i := range 100 {
		assert.Equal(t, http.StatusNotFound, get(ch, fmt.Sprint("/scan/", i)).Code)
	}
	c.wait() // the deletes of the keys, made after each response
	keys, err := b.Client().Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.Len(t, keys, 2, "the entry of /known and its path version, nothing for the scan")
	assert.Equal(t, "known", get(ch, "/known").Body.String())
	assert.EqualValues(t, 1, c.Stats().Hits)
}
