package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheServerErrorNotHandedToWaiters: a request that waited for
// the run of another, which the origin failed on for that request's own
// field, was handed its 500 (stored for everyone). It runs its own now,
// and gets the page.
func TestSharedCacheServerErrorNotHandedToWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var n atomic.Int64
		hold := make(chan struct{})
		origin := clientErrorOrigin(&n)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Broken") != "" {
				<-hold // the waiter joins the run meanwhile
			}
			origin.ServeHTTP(w, r)
		})
		v := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(h)
		attacker := make(chan int)
		go func() { attacker <- get(v, "/p", "X-Broken", "1").Code }()
		synctest.Wait()
		waiter := make(chan *httptest.ResponseRecorder)
		go func() { waiter <- get(v, "/p") }()
		synctest.Wait()
		close(hold)
		require.Equal(t, http.StatusInternalServerError, <-attacker)
		w := <-waiter
		assert.Equal(t, http.StatusOK, w.Code, "the waiter got the attacker's %q", w.Body.String())
		w = get(v, "/p")
		assert.Equal(t, http.StatusOK, w.Code, "a later client got %q", w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the waiter's page is stored")
	})
}

// TestSharedCacheServerErrorKeepsStaleEntry: a 5xx with explicit freshness
// that answers the revalidation of a stale entry outside any
// stale-if-error window is its client's answer: the entry stays stored (it
// replaced it, and every client got the 503 for its max-age), and the
// next request revalidates it again, to the origin's 304.
func TestSharedCacheServerErrorKeepsStaleEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var down atomic.Bool
		var runs atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			if down.Load() {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, "down")
				return
			}
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"up"`)
			if r.Header.Get("If-None-Match") == `"up"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			fmt.Fprint(w, "up")
		})
		v := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(h)
		require.Equal(t, "up", get(v, "/p").Body.String())
		time.Sleep(15 * time.Second)
		down.Store(true)
		w := get(v, "/p")
		require.Equal(t, http.StatusServiceUnavailable, w.Code, "no stale-if-error: the client gets the origin's 503")
		down.Store(false)
		w = get(v, "/p")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "up", w.Body.String(), "the 503 replaced the stored page")
		assert.Equal(t, int64(3), runs.Load(), "the next request revalidates the entry")
	})
}
