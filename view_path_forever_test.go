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
	"github.com/go-caching/caching/backend/simple"
)

// pageEverywhere answers every path with a 200 a view stores.
var pageEverywhere = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprint(w, "page ", r.URL.Path)
})

// TestForeverPathKeysExpire: on a view cached Forever, the path version
// key a request creates had no expiry, so a client asking for one new path
// after another left a key each (and the page stored under it), for good,
// on a store other processes share. Now a path key expires whatever the
// entries' life; entries written under it end with it, and are written
// again afterwards.
func TestForeverPathKeysExpire(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		flood := e.c.Cached(Forever)(pageEverywhere)
		pages := e.c.Cached(Forever)(&counter{body: "known"})
		assert.Equal(t, "known #1", get(pages, "/known").Body.String())
		base := entries(t, e.store)
		for i := range 50 {
			assert.Equal(t, http.StatusOK, get(flood, fmt.Sprint("/flood/", i)).Code)
		}
		require.Greater(t, entries(t, e.store), base, "stored pages keep their path keys for a while")
		key := e.c.pathTagKey("/flood/7")
		require.True(t, liveKey(t, e.store, key))

		// Within the bound, the Forever page is a hit and InvalidatePath
		// reaches it.
		e.clock.Advance(maxPathLife)
		assert.Equal(t, "known #1", get(pages, "/known").Body.String())

		e.clock.Advance(4*maxPathLife - maxPathLife + time.Second)
		assert.False(t, liveKey(t, e.store, key), "the path key expired")
		assert.False(t, liveKey(t, e.store, e.c.pathTagKey("/known")), "so did the one the entry was written under")
		assert.Equal(t, "known #2", get(pages, "/known").Body.String(), "written again")
		assert.Equal(t, "known #2", get(pages, "/known").Body.String())
		require.NoError(t, e.c.InvalidatePath(context.Background(), "/known"))
		assert.Equal(t, "known #3", get(pages, "/known").Body.String())
	})
}

// liveKey reports whether the in-process store under b holds key, as a
// value or as bytes, unexpired.
func liveKey(t *testing.T, b backend.Backend, key string) bool {
	t.Helper()
	if r, ok := b.(*remote); ok {
		b = r.Backend
	}
	s, ok := b.(*simple.Store)
	require.True(t, ok)
	if _, ok := s.LoadValue(key); ok {
		return true
	}
	has, err := s.Has(context.Background(), key)
	require.NoError(t, err)
	return has
}

// TestForeverPathKeysExpireOnRedis is TestForeverPathKeysExpire on a real
// Redis, where a key without a TTL stays until someone deletes it.
func TestForeverPathKeysExpireOnRedis(t *testing.T) {
	ctx := context.Background()
	c, b, prefix := onRedis(t)
	flood := c.Cached(Forever)(pageEverywhere)
	pages := c.Cached(Forever)(&counter{body: "known"})
	assert.Equal(t, "known #1", get(pages, "/known").Body.String())
	for i := range 20 {
		get(flood, fmt.Sprint("/flood/", i))
	}
	keys, err := b.Client().Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 42, "a page and its path key per path")
	for _, k := range keys {
		ttl, err := b.Client().PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.True(t, ttl > 0 && ttl <= 4*maxPathLife, "%s: ttl %v; want a TTL of at most %v", k, ttl, 4*maxPathLife)
	}
	assert.Equal(t, "known #1", get(pages, "/known").Body.String(), "still a hit")
	require.NoError(t, c.InvalidatePath(ctx, "/known"))
	assert.Equal(t, "known #2", get(pages, "/known").Body.String())
}
