package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// The type form (whether the writer a view gets already has a
// Content-Type, set by a middleware outside it) is in the key: each form
// has an entry, a flight and a lease of its own. Before, one entry stood
// at a time, owned by the form that missed first, and every request of
// the other form ran the handler (BYPASS), uncollapsed and storing nothing.

// typeFormPage is a handler that sets its type only where the writer has
// none (http.ServeContent), so that the two forms are answered
// differently; it counts its runs and takes delay.
func typeFormPage(runs *atomic.Int32, delay time.Duration, cacheControl string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		if delay > 0 {
			time.Sleep(delay)
		}
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		http.ServeContent(w, r, "paste", time.Time{}, strings.NewReader(pasteBody))
	})
}

// typeFormOpts are the options of the views of these tests: the preview
// parameter (the rare form's) is left out of the key.
func typeFormOpts(shared bool) []ViewOption {
	opts := []ViewOption{CacheStatusHeader("X-Cache"), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}
	if shared {
		opts = append(opts, SharedCache())
	}
	return opts
}

// forEachTypeFormMode runs fn in a synctest bubble with typeFormOpts, in
// the default mode and in SharedCache.
func forEachTypeFormMode(t *testing.T, fn func(t *testing.T, opts []ViewOption)) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "shared"}[shared], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { fn(t, typeFormOpts(shared)) })
		})
	}
}

// TestPopularTypeFormHitsAfterRareFormMiss: one preview (the rare form, no
// outer type) at the paste's expiry took the key, and the 20 concurrent
// and 5 later requests of the paste (the popular form, outer text/plain)
// each ran the handler: 26 runs for 26 requests. They now collapse into
// one run, and hit its entry after.
func TestPopularTypeFormHitsAfterRareFormMiss(t *testing.T) {
	forEachTypeFormMode(t, func(t *testing.T, opts []ViewOption) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int32
		h := pasteOuter(false, c.Cached(10*time.Second, opts...)(typeFormPage(&runs, 400*time.Millisecond, "public, max-age=10")))
		plain := "text/plain; charset=utf-8"

		require.Equal(t, "MISS", get(h, "/paste?id=1").Header().Get("X-Cache"))
		time.Sleep(11 * time.Second) // expired
		pv := get(h, "/paste?id=1&preview=1")
		require.Equal(t, "MISS", pv.Header().Get("X-Cache"))
		require.Equal(t, "text/html; charset=utf-8", pv.Header().Get("Content-Type"))
		require.Equal(t, int32(2), runs.Load())

		var wg sync.WaitGroup
		statuses := make([]string, 20)
		for i := range statuses {
			wg.Go(func() {
				w := get(h, "/paste?id=1")
				assert.Equal(t, plain, w.Header().Get("Content-Type"))
				statuses[i] = w.Header().Get("X-Cache")
			})
		}
		wg.Wait()
		assert.Equal(t, int32(3), runs.Load(), "the 20 concurrent pastes collapse into one run (%v)", statuses)
		for range 5 {
			w := get(h, "/paste?id=1")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
			assert.Equal(t, plain, w.Header().Get("Content-Type"))
		}
		assert.Equal(t, int32(3), runs.Load(), "the pastes hit their entry")
		assert.Equal(t, "HIT", get(h, "/paste?id=1&preview=1").Header().Get("X-Cache"), "and the preview its own")
	})
}

// TestSharedRareTypeFormNoCacheKeepsPopularEntry: under SharedCache with
// HonorRequestCacheControl, a preview's no-cache request ran the handler
// and its response replaced the paste's fresh entry, so that every paste
// after it ran the handler (BYPASS) until that expired. It now stores the
// preview's own entry; the paste's stays, and hits.
func TestSharedRareTypeFormNoCacheKeepsPopularEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int32
		opts := []ViewOption{CacheStatusHeader("X-Cache"), SharedCache(), HonorRequestCacheControl(), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}
		h := pasteOuter(false, c.Cached(time.Minute, opts...)(typeFormPage(&runs, 0, "public, max-age=60")))

		require.Equal(t, "MISS", get(h, "/paste?id=1").Header().Get("X-Cache"))
		require.Equal(t, "HIT", get(h, "/paste?id=1").Header().Get("X-Cache"))
		get(h, "/paste?id=1&preview=1", "Cache-Control", "no-cache")
		require.Equal(t, int32(2), runs.Load())
		for range 3 {
			w := get(h, "/paste?id=1")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the paste's fresh entry is kept")
			assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
		}
		w := get(h, "/paste?id=1&preview=1")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the preview's no-cache run stored its own entry")
		assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Equal(t, int32(2), runs.Load())
	})
}

// TestRareTypeFormDoesNotWaitForOtherFormsFlight: a preview arriving while
// the paste's miss ran joined its flight, waited for the whole run, found
// the other form's response and ran the handler itself: 705 ms for a
// 400 ms handler. It now leads a flight of its own.
func TestRareTypeFormDoesNotWaitForOtherFormsFlight(t *testing.T) {
	forEachTypeFormMode(t, func(t *testing.T, opts []ViewOption) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int32
		h := pasteOuter(false, c.Cached(time.Minute, opts...)(typeFormPage(&runs, 400*time.Millisecond, "public, max-age=60")))

		var wg sync.WaitGroup
		wg.Go(func() { get(h, "/paste?id=1") })
		time.Sleep(100 * time.Millisecond) // the paste's run is under way
		start := time.Now()
		w := get(h, "/paste?id=1&preview=1")
		took := time.Since(start)
		wg.Wait()
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
		assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Equal(t, 400*time.Millisecond, took, "its own run, not the paste's first")
		assert.Equal(t, int32(2), runs.Load())
	})
}

// TestTypedEntryInvalidated: every way to drop a view's entries reaches
// the entry of the typed form (a request whose writer had a Content-Type),
// which is under a key of its own: InvalidatePath, InvalidateTags, Clear,
// InvalidateOnWrite, and deleting the keys ViewKeys gives (with and
// without Vary: the typed form's record and variants go with it).
func TestTypedEntryInvalidated(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		vary bool
		drop func(t *testing.T, c *Cache, h http.Handler, opts []ViewOption)
	}{
		{"InvalidatePath", false, func(t *testing.T, c *Cache, _ http.Handler, _ []ViewOption) {
			require.NoError(t, c.InvalidatePath(ctx, "/paste"))
		}},
		{"InvalidateTags", false, func(t *testing.T, c *Cache, _ http.Handler, _ []ViewOption) {
			require.NoError(t, c.InvalidateTags(ctx, "pastes"))
		}},
		{"Clear", false, func(t *testing.T, c *Cache, _ http.Handler, _ []ViewOption) {
			require.NoError(t, c.Clear(ctx))
		}},
		{"InvalidateOnWrite", false, func(t *testing.T, _ *Cache, h http.Handler, _ []ViewOption) {
			require.Equal(t, http.StatusOK, send(h, http.MethodPost, "/paste?id=1").Code)
		}},
		{"ViewKeys", false, func(t *testing.T, c *Cache, _ http.Handler, opts []ViewOption) {
			keys, err := c.ViewKeys(httptest.NewRequest(http.MethodGet, "/paste?id=1", nil), opts...)
			require.NoError(t, err)
			require.NoError(t, c.Backend().Delete(ctx, keys...))
		}},
		{"ViewKeys Vary", true, func(t *testing.T, c *Cache, _ http.Handler, opts []ViewOption) {
			keys, err := c.ViewKeys(httptest.NewRequest(http.MethodGet, "/paste?id=1", nil), opts...)
			require.NoError(t, err)
			require.NoError(t, c.Backend().Delete(ctx, keys...))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, k storeKind) {
				c, store := k.open(t, nil, nil, Options{})
				defer c.Close()
				var runs atomic.Int32
				page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					runs.Add(1)
					if r.Method != http.MethodGet && r.Method != http.MethodHead {
						return // a write
					}
					w.Header().Set("Cache-Control", "public, max-age=60")
					if tc.vary {
						w.Header().Set("Vary", "Accept-Language")
					}
					http.ServeContent(w, r, "paste", time.Time{}, strings.NewReader(pasteBody))
				})
				opts := []ViewOption{CacheStatusHeader("X-Cache"), Tags("pastes"), InvalidateOnWrite(), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}
				h := pasteOuter(false, c.Cached(time.Minute, opts...)(page))
				hdr := []string{"Accept-Language", "fr"}

				require.Equal(t, "MISS", get(h, "/paste?id=1", hdr...).Header().Get("X-Cache"))
				require.Equal(t, "HIT", get(h, "/paste?id=1", hdr...).Header().Get("X-Cache"))
				keys, err := c.ViewKeys(httptest.NewRequest(http.MethodGet, "/paste?id=1", nil), opts...)
				require.NoError(t, err)
				require.Len(t, keys, 2)
				require.True(t, storedAt(t, store, keys[1]), "the typed entry (or its Vary record) is under the typed key %q", keys[1])
				require.False(t, storedAt(t, store, keys[0]), "nothing under the untyped key")

				before := runs.Load()
				tc.drop(t, c, h, opts)
				w := get(h, "/paste?id=1", hdr...)
				assert.Equal(t, "MISS", w.Header().Get("X-Cache"), "the typed entry is gone")
				assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
				assert.Greater(t, runs.Load(), before)
			})
		})
	}
}

// TestOlderEntryOfOtherTypeFormNotServed: an entry a release before the
// type form was keyed stored under the untyped key for a request of the
// typed form (the paste's, with no type of its own: ServeContent set none
// over the outer one) is still told by OtherTypeForm: the preview, whose
// key it is, runs the handler (BYPASS) and gets its own sniffed type, and
// the entry stays until it expires; the paste reads its own key.
func TestOlderEntryOfOtherTypeFormNotServed(t *testing.T) {
	ctx := context.Background()
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			c, store := k.open(t, nil, nil, Options{})
			var runs atomic.Int32
			opts := typeFormOpts(shared)
			h := pasteOuter(false, c.Cached(time.Minute, opts...)(typeFormPage(&runs, 0, "public, max-age=60")))
			require.Equal(t, "MISS", get(h, "/paste?id=1").Header().Get("X-Cache"))
			keys, err := c.ViewKeys(httptest.NewRequest(http.MethodGet, "/paste?id=1", nil), opts...)
			require.NoError(t, err)
			// Moved to the untyped key, as the older release stored it.
			if s, ok := store.(*simple.Store); ok { // kept as a Go value
				val, ok := s.LoadValue(keys[1])
				require.True(t, ok)
				require.NoError(t, s.StoreValue(keys[0], val, 1024, time.Minute))
			} else {
				val, err := store.Get(ctx, keys[1])
				require.NoError(t, err)
				require.NoError(t, store.Set(ctx, keys[0], val, time.Minute))
			}
			require.NoError(t, store.Delete(ctx, keys[1]))
			for range 2 {
				w := get(h, "/paste?id=1&preview=1")
				assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"), "the older entry of the other form")
				assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
			}
			assert.True(t, storedAt(t, store, keys[0]), "the older entry stays")
			w := get(h, "/paste?id=1")
			assert.Equal(t, "MISS", w.Header().Get("X-Cache"), "the paste's own key")
			assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
			c.Close()
		}
	})
}

// storedAt reports whether store (a storeKinds store) holds key, as bytes
// or as a Go value.
func storedAt(t *testing.T, store backend.Backend, key string) bool {
	t.Helper()
	s, ok := store.(*simple.Store)
	if !ok {
		s = store.(*remote).Backend.(*simple.Store)
	}
	has, err := s.Has(context.Background(), key)
	require.NoError(t, err)
	_, value := s.LoadValue(key)
	return has || value
}

// TestViewKeyTypedForm: the typed form's key is the untyped one's with
// "#t=1" (which no other part can spell: a user or Version that holds it
// is escaped), before a long key is shortened, so that the untyped key is
// the one of the releases before, byte for byte.
func TestViewKeyTypedForm(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	r := httptest.NewRequest(http.MethodGet, "/paste?id=1", nil)
	v := c.newView(0, mustConfig(t), viewFuncs{}, nil)
	untyped, typed := v.viewKey(r, "", false), v.viewKey(r, "", true)
	assert.Equal(t, "v/http://example.com#view//paste?id=1", untyped)
	assert.Equal(t, untyped+"#t=1", typed)
	keys, err := c.ViewKeys(r)
	require.NoError(t, err)
	assert.Equal(t, []string{untyped, typed}, keys)
	key, err := c.ViewKey(r)
	require.NoError(t, err)
	assert.Equal(t, untyped, key)

	assert.NotEqual(t, typed, v.viewKey(r, "#t=1", false), "a user cannot spell it")
	assert.NotEqual(t, typed, c.newView(0, mustConfig(t, Version("#t=1")), viewFuncs{}, nil).viewKey(httptest.NewRequest(http.MethodGet, "/paste?id=1", nil), "", false))

	long := httptest.NewRequest(http.MethodGet, "/paste?id="+strings.Repeat("x", 300), nil)
	lu, lt := v.viewKey(long, "", false), v.viewKey(long, "", true)
	assert.True(t, strings.HasPrefix(lu, "v/#"), lu)
	assert.True(t, strings.HasPrefix(lt, "v/#"), lt)
	assert.NotEqual(t, lu, lt)
	assert.Less(t, len(lt), 200)
}
