package caching

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestStaleOfOtherTypeFormNotServed: a stale entry the preview stored
// (http.ServeContent's sniffed text/html) reached the paste's request in
// the two ways a stale entry answers a run: a SharedCache revalidation,
// whose 304 served the freshened entry, and StaleIfError, in place of the
// handler's 5xx. Both sent text/html over the outer text/plain. The
// revalidation is now an unconditional run, and the failure is served.
func TestStaleOfOtherTypeFormNotServed(t *testing.T) {
	modified := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	t.Run("SharedCache revalidation", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=1")
				http.ServeContent(w, r, "paste", modified, strings.NewReader(pasteBody))
			})
			opts := []ViewOption{SharedCache(), CacheStatusHeader("X-Cache"), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}
			h := pasteOuter(false, c.Cached(time.Minute, opts...)(page))
			assert.Equal(t, "text/html; charset=utf-8", get(h, "/paste?id=1&preview=1").Header().Get("Content-Type"))
			time.Sleep(2 * time.Second)
			w := get(h, "/paste?id=1")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
			assert.Equal(t, pasteBody, w.Body.String())
		})
	})
	t.Run("StaleIfError", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			var runs atomic.Int32
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if runs.Add(1) > 1 {
					http.Error(w, "down", http.StatusServiceUnavailable)
					return
				}
				http.ServeContent(w, r, "paste", modified, strings.NewReader(pasteBody))
			})
			opts := []ViewOption{StaleIfError(time.Hour), CacheStatusHeader("X-Cache"), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}
			h := pasteOuter(false, c.Cached(time.Second, opts...)(page))
			assert.Equal(t, "text/html; charset=utf-8", get(h, "/paste?id=1&preview=1").Header().Get("Content-Type"))
			time.Sleep(2 * time.Second)
			w := get(h, "/paste?id=1")
			assert.Equal(t, http.StatusServiceUnavailable, w.Code, "the handler's failure")
			assert.NotContains(t, w.Header().Get("Content-Type"), "text/html")
			w = get(h, "/paste?id=1&preview=1")
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "the preview still gets the stale entry")
			assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
		})
	})
}
