package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/internal/testutil"
)

// storeStatusAs rewrites the entry a view configured with opts stored for
// target in b, as an earlier version would have stored it with status (a
// 5xx or a 4xx that SharedCache then stored with explicit freshness, and
// that a Redis or file backend keeps across an upgrade).
func storeStatusAs(t *testing.T, c *Cache, b *remote, target string, status int, opts ...ViewOption) {
	t.Helper()
	key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, target, nil), opts...)
	require.NoError(t, err)
	raw, err := b.Backend.Get(t.Context(), key)
	require.NoError(t, err)
	e, err := decodeEntry(raw)
	require.NoError(t, err)
	snap, err := httpcache.Decode(e.Payload)
	require.NoError(t, err)
	snap.Status = status
	e.Payload = snap.Encode(nil)
	require.NoError(t, b.Backend.Set(t.Context(), key, encodeEntry(e), 0))
}

// TestSharedCacheStoredErrorStatusNotServed: an entry stored with a status
// SharedCache no longer stores (a 5xx, a 4xx but 404, 405, 410 and 414),
// left in the backend by an earlier version, was served to every client
// until its max-age, and within its stale-if-error window in place of the
// origin's own failure: only the write side checked the status. It is a
// miss now: the origin answers, and its page replaces the entry.
func TestSharedCacheStoredErrorStatusNotServed(t *testing.T) {
	for _, status := range []int{
		http.StatusInternalServerError, http.StatusNotImplemented, http.StatusServiceUnavailable,
		http.StatusBadRequest, http.StatusTooManyRequests,
	} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			clock := testutil.NewClock()
			b := &remote{Backend: newSimple(t, clock)}
			c, err := New(&Options{Backend: b, Clock: clock.Now})
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			var n atomic.Int64
			var down atomic.Bool
			opts := []ViewOption{SharedCache(), StaleIfError(time.Hour), CacheStatusHeader("X-Cache")}
			v := c.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if down.Load() {
					w.WriteHeader(http.StatusBadGateway)
					fmt.Fprint(w, "origin down")
					return
				}
				w.Header().Set("Cache-Control", "public, max-age=600, stale-if-error=3600")
				fmt.Fprintf(w, "page #%d", n.Add(1))
			}))
			require.Equal(t, "page #1", get(v, "/p").Body.String())

			t.Run("fresh", func(t *testing.T) {
				storeStatusAs(t, c, b, "/p", status, opts...)
				w := get(v, "/p")
				assert.Equal(t, http.StatusOK, w.Code, "the stored %d was served: %q", status, w.Body.String())
				assert.Equal(t, "page #2", w.Body.String())
				w = get(v, "/p")
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the origin's page replaced the entry")
				assert.Equal(t, "page #2", w.Body.String())
			})
			t.Run("stale-if-error", func(t *testing.T) {
				storeStatusAs(t, c, b, "/p", status, opts...)
				clock.Advance(700 * time.Second) // stale, within stale-if-error
				down.Store(true)
				w := get(v, "/p")
				assert.Equal(t, http.StatusBadGateway, w.Code, "the stored %d answered the origin's failure", status)
				assert.Equal(t, "origin down", w.Body.String())
			})
		})
	}
}
