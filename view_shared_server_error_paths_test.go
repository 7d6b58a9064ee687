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

// TestSharedCacheServerErrorOtherPaths pins that a 5xx with public,
// max-age reaches no stored entry by the paths beside a plain miss: a
// HEAD that revalidates the stored page, a request for another Vary
// variant, a RefreshAhead refresh. Each leaves the page stored, served to
// the next client.
func TestSharedCacheServerErrorOtherPaths(t *testing.T) {
	origin := func(fail *atomic.Bool, n *atomic.Int64) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60, stale-if-error=600")
			w.Header().Set("Vary", "Accept-Language")
			if fail.Load() || r.Header.Get("X-Broken") != "" {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, "broken")
				return
			}
			fmt.Fprintf(w, "page %s #%d", r.Header.Get("Accept-Language"), n.Add(1))
		})
	}
	// test runs body in a bubble, with a SharedCache view of origin that
	// has opts, and fail, which makes every request fail.
	test := func(t *testing.T, opts []ViewOption, body func(v http.Handler, fail *atomic.Bool)) {
		synctest.Test(t, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			var fail atomic.Bool
			var n atomic.Int64
			opts = append(opts, SharedCache(), CacheStatusHeader("X-Cache"))
			body(c.Cached(time.Hour, opts...)(origin(&fail, &n)), &fail)
		})
	}
	t.Run("HEAD revalidation", func(t *testing.T) {
		test(t, []ViewOption{}, func(v http.Handler, fail *atomic.Bool) {
			page := get(v, "/p").Body.String()
			time.Sleep(2 * time.Minute) // stale: the HEAD revalidates it
			w := send(v, http.MethodHead, "/p", "X-Broken", "1")
			require.Equal(t, http.StatusInternalServerError, w.Code)
			time.Sleep(time.Second)
			w = get(v, "/p", "If-None-Match", `"none"`)
			assert.Equal(t, http.StatusOK, w.Code, "a client after the HEAD got %q", w.Body.String())
			w = get(v, "/p")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.NotEqual(t, "broken", w.Body.String(), "page was %q", page)
		})
	})
	t.Run("other variant", func(t *testing.T) {
		test(t, []ViewOption{}, func(v http.Handler, fail *atomic.Bool) {
			en := get(v, "/p", "Accept-Language", "en").Body.String()
			require.Equal(t, http.StatusInternalServerError, get(v, "/p", "Accept-Language", "fr", "X-Broken", "1").Code)
			w := get(v, "/p", "Accept-Language", "fr")
			assert.Equal(t, http.StatusOK, w.Code, "the fr variant got %q", w.Body.String())
			w = get(v, "/p", "Accept-Language", "en")
			assert.Equal(t, en, w.Body.String())
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		})
	})
	t.Run("RefreshAhead", func(t *testing.T) {
		test(t, []ViewOption{RefreshAhead(30 * time.Second)}, func(v http.Handler, fail *atomic.Bool) {
			page := get(v, "/p").Body.String()
			time.Sleep(40 * time.Second)
			fail.Store(true)
			assert.Equal(t, page, get(v, "/p").Body.String()) // starts the refresh
			synctest.Wait()
			fail.Store(false)
			w := get(v, "/p")
			assert.Equal(t, http.StatusOK, w.Code, "the refresh's 500 replaced the page: %q", w.Body.String())
			assert.Equal(t, page, w.Body.String())
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
			synctest.Wait()
		})
	})
	t.Run("stale-if-error", func(t *testing.T) {
		test(t, []ViewOption{StaleIfError(time.Hour)}, func(v http.Handler, fail *atomic.Bool) {
			page := get(v, "/p").Body.String()
			time.Sleep(2 * time.Minute)
			fail.Store(true)
			w := get(v, "/p")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, page, w.Body.String(), "the last good page answers the 500")
			fail.Store(false)
			w = get(v, "/p")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.NotEqual(t, "broken", w.Body.String())
		})
	})
}
