package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheServerErrorWithExplicitFreshness pins what a SharedCache
// view does with a 5xx and explicit freshness (max-age, s-maxage,
// Expires): a 503 is never stored, whatever it declares (it was, as RFC
// 9111 section 3 allows and nginx and Caddy's cache-handler do: one
// request the origin failed on answered every client for its max-age; see
// TestSharedCacheServerErrorNotStoredForEveryone), as Varnish's builtin
// rules store no 5xx; nor is a 501, cacheable by default (RFC 9110
// section 15.1) but provoked by a client as easily (an unsupported
// Transfer-Encoding, method or Expect), with explicit freshness or a
// Last-Modified alone.
func TestSharedCacheServerErrorWithExplicitFreshness(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		set    func(h http.Header)
		stored bool
	}{
		{"max-age", 503, func(h http.Header) { h.Set("Cache-Control", "max-age=60") }, false},
		{"public, max-age", 503, func(h http.Header) { h.Set("Cache-Control", "public, max-age=60") }, false},
		{"s-maxage", 503, func(h http.Header) { h.Set("Cache-Control", "s-maxage=60") }, false},
		{"Expires", 503, func(h http.Header) { h.Set("Expires", time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)) }, false},
		{"Last-Modified only", 503, func(h http.Header) { h.Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT") }, false},
		{"no-store", 503, func(h http.Header) { h.Set("Cache-Control", "max-age=60, no-store") }, false},
		{"501 public, max-age", 501, func(h http.Header) { h.Set("Cache-Control", "public, max-age=60") }, false},
		{"501 Last-Modified only", 501, func(h http.Header) { h.Set("Last-Modified", lastModified()) }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var calls atomic.Int64
				h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					n := calls.Add(1)
					tt.set(w.Header())
					w.WriteHeader(tt.status)
					fmt.Fprintf(w, "down #%d", n)
				})
				v := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(h)
				require.Equal(t, tt.status, get(v, "/p").Code)
				w := get(v, "/p")
				assert.Equal(t, tt.status, w.Code)
				if tt.stored {
					assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
					assert.Equal(t, "down #1", w.Body.String())
				} else {
					assert.NotEqual(t, "HIT", w.Header().Get("X-Cache"))
					assert.Equal(t, "down #2", w.Body.String())
				}
			})
		})
	}
}

// TestSharedCacheErrorKeepsStaleIfErrorEntry: a 5xx with explicit
// freshness that answers the revalidation of an entry within its
// stale-if-error window is an error (RFC 5861 section 4): the client gets
// the stale entry, and the 5xx does not replace it.
func TestSharedCacheErrorKeepsStaleIfErrorEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var down atomic.Bool
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if down.Load() {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, "down")
				return
			}
			w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
			fmt.Fprint(w, "up")
		})
		v := c.Cached(time.Hour, SharedCache(), StaleIfError(time.Hour), CacheStatusHeader("X-Cache"))(h)
		require.Equal(t, "up", get(v, "/p").Body.String())
		time.Sleep(15 * time.Second)
		down.Store(true)
		for range 2 {
			w := get(v, "/p")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
			assert.Equal(t, "up", w.Body.String())
		}
	})
}

// TestSharedCacheErrorFromBackgroundRefresh: a 5xx with explicit
// freshness that answers the background refresh stale-while-revalidate
// started, for an entry also within its stale-if-error window, is an error
// there too (RFC 5861 section 4): the entry stays. It replaced the entry,
// and every client got the 503 as a HIT for its max-age, where a client's
// own revalidation (TestSharedCacheErrorKeepsStaleIfErrorEntry) kept it:
// the origin's stale-if-error was lost to the first failed refresh.
func TestSharedCacheErrorFromBackgroundRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var down atomic.Bool
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if down.Load() {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, "down")
				return
			}
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=30, stale-if-error=600")
			fmt.Fprint(w, "up")
		})
		v := c.Cached(time.Hour, SharedCache(), StaleIfError(time.Hour), StaleWhileRevalidate(time.Hour), CacheStatusHeader("X-Cache"))(h)
		require.Equal(t, "up", get(v, "/p").Body.String())
		time.Sleep(15 * time.Second)
		down.Store(true)
		w := get(v, "/p")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		synctest.Wait()
		w = get(v, "/p")
		assert.Equal(t, http.StatusOK, w.Code, "the background refresh's 503 replaced the entry")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "up", w.Body.String())
		synctest.Wait()
	})
}

// TestSharedCacheStoresPublicError: public makes any status heuristically
// cacheable in RFC 9111's words (section 4.2.2), and a 500 with public and
// a Last-Modified was served from the store to everyone for 10% of its
// age (an hour here), one with public and an ETag stored and revalidated:
// one passing failure of the origin answered every client, where the
// origin might have answered the next request. An error status outside
// those cacheable by default (a 5xx, most 4xx) gets no heuristic
// lifetime now, as in Varnish, and is not stored with explicit freshness
// either (TestSharedCacheServerErrorWithExplicitFreshness). A 501,
// cacheable by default, is not stored with Last-Modified alone either (it
// was); nor, of course, with a StoreIf that refuses 5xx.
func TestSharedCacheStoresPublicError(t *testing.T) {
	noErrors := StoreIf(func(r *Response) bool { return r.Status < 500 })
	for _, tt := range []struct {
		name   string
		status int
		set    func(h http.Header)
		opts   []ViewOption
		hit    bool // the second request is served from the store
		inm    bool // the second request's run gets If-None-Match
	}{
		{"public Last-Modified", 500, setPublicLM, nil, false, false},
		{"public Last-Modified 503", 503, setPublicLM, nil, false, false},
		{"public Last-Modified 429", 429, setPublicLM, nil, false, false},
		{"public ETag", 500, func(h http.Header) { h.Set("Cache-Control", "public"); h.Set("ETag", `"e1"`) }, nil, false, false},
		{"public alone", 500, func(h http.Header) { h.Set("Cache-Control", "public") }, nil, false, false},
		{"501 Last-Modified only", 501, func(h http.Header) { h.Set("Last-Modified", lastModified()) }, nil, false, false},
		{"501 public Last-Modified", 501, setPublicLM, nil, false, false},
		{"StoreIf refuses public Last-Modified", 500, setPublicLM, []ViewOption{noErrors}, false, false},
		{"StoreIf refuses public ETag", 500, func(h http.Header) { h.Set("Cache-Control", "public"); h.Set("ETag", `"e1"`) }, []ViewOption{noErrors}, false, false},
		{"StoreIf refuses 501", 501, func(h http.Header) { h.Set("Last-Modified", lastModified()) }, []ViewOption{noErrors}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var calls atomic.Int64
				var inm atomic.Value
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := calls.Add(1)
					if n == 2 {
						inm.Store(r.Header.Get("If-None-Match"))
					}
					tt.set(w.Header())
					w.WriteHeader(tt.status)
					fmt.Fprintf(w, "failed #%d", n)
				})
				opts := append([]ViewOption{SharedCache(), CacheStatusHeader("X-Cache")}, tt.opts...)
				v := c.Cached(time.Hour, opts...)(h)
				require.Equal(t, tt.status, get(v, "/p").Code)
				time.Sleep(time.Second)
				w := get(v, "/p")
				assert.Equal(t, tt.status, w.Code)
				if tt.hit {
					assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
					assert.Equal(t, "failed #1", w.Body.String())
					return
				}
				assert.NotEqual(t, "HIT", w.Header().Get("X-Cache"))
				assert.Equal(t, "failed #2", w.Body.String())
				got, _ := inm.Load().(string)
				if tt.inm {
					assert.Equal(t, `"e1"`, got, "the stored 500 was not revalidated")
				} else {
					assert.Empty(t, got, "a 500 was stored and revalidated")
				}
			})
		})
	}
}

// lastModified is a Last-Modified ten hours before now: a heuristic
// lifetime of one hour.
func lastModified() string { return time.Now().Add(-10 * time.Hour).UTC().Format(http.TimeFormat) }

func setPublicLM(h http.Header) {
	h.Set("Cache-Control", "public")
	h.Set("Last-Modified", lastModified())
}
