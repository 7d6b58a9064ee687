package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestNoCacheRequestNotAnsweredStale: with HonorRequestCacheControl, a
// request with Cache-Control: no-cache is not answered with a stored
// response that its origin has not validated (RFC 9111 sections 4 and
// 5.2.1.4), so not with a stale entry in place of its run's failure: the
// view's StaleIfError and the response's stale-if-error are the server's
// leave to serve stale (RFC 5861 section 4), which do not lift the
// client's no-cache. Within the stale-while-revalidate window (with a
// Cookie too, whose run is answered stale on failure) it runs at once, and
// its failure reaches it. It used to get the stale entry under
// stale-if-error. GET and HEAD alike.
func TestNoCacheRequestNotAnsweredStale(t *testing.T) {
	cases := []struct {
		name string
		opts []ViewOption
		cc   string   // the handler's Cache-Control
		hdr  []string // the request's fields besides no-cache
	}{
		{name: "default/stale-if-error", opts: []ViewOption{StaleIfError(time.Minute)}},
		{name: "default/swr", opts: []ViewOption{StaleWhileRevalidate(time.Minute)}},
		{name: "default/swr-cookie", opts: []ViewOption{StaleWhileRevalidate(time.Minute)}, hdr: []string{"Cookie", "session=a"}},
		{name: "shared/stale-if-error", opts: []ViewOption{StaleIfError(time.Minute), SharedCache()}, cc: "max-age=10, stale-if-error=60"},
		{name: "shared/swr", opts: []ViewOption{StaleWhileRevalidate(time.Minute), SharedCache()}, cc: "max-age=10, stale-while-revalidate=60"},
		{name: "shared/swr-cookie", opts: []ViewOption{StaleWhileRevalidate(time.Minute), SharedCache()}, cc: "max-age=10, stale-while-revalidate=60", hdr: []string{"Cookie", "session=a"}},
		{name: "shared/both", opts: []ViewOption{StaleWhileRevalidate(time.Minute), StaleIfError(time.Minute), SharedCache()}, cc: "max-age=10, stale-while-revalidate=60, stale-if-error=60"},
	}
	for _, tc := range cases {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := Must(nil)
					defer c.Close()
					var runs atomic.Int64
					var down atomic.Bool
					opts := append([]ViewOption{CacheStatusHeader("X-Cache"), HonorRequestCacheControl()}, tc.opts...)
					h := c.Cached(10*time.Second, opts...)(headStaleHandler(&runs, &down, headStale500, tc.cc))
					get(h, "/page")
					time.Sleep(15 * time.Second) // stale, within the windows
					down.Store(true)
					w := sendRecovered(h, method, "/page", append([]string{"Cache-Control", "no-cache"}, tc.hdr...)...)
					synctest.Wait()
					assert.Equal(t, http.StatusInternalServerError, w.Code, "the origin's failure, not the unvalidated entry")
					assert.Empty(t, w.Header().Get("X-Run"), "no header of the stored response")
					w = sendRecovered(h, method, "/page", tc.hdr...)
					synctest.Wait()
					assert.Equal(t, http.StatusOK, w.Code, "a request without no-cache is answered stale")
				})
			})
		}
	}
}

// TestNoCacheRequestOwnStaleIfError: in a SharedCache view, a request with
// no-cache that sends its own stale-if-error lets its failed run be
// answered with the stale entry it covers (RFC 5861 section 4: the
// client's own leave), as without no-cache; one that covers less is not.
func TestNoCacheRequestOwnStaleIfError(t *testing.T) {
	for _, tc := range []struct {
		sie  int
		want int
	}{{60, http.StatusOK}, {5, http.StatusInternalServerError}} {
		t.Run(fmt.Sprintf("stale-if-error=%d", tc.sie), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				var down atomic.Bool
				h := c.Cached(10*time.Second, SharedCache(), HonorRequestCacheControl(), StaleIfError(time.Minute))(
					headStaleHandler(&runs, &down, headStale500, "max-age=10, stale-if-error=60"))
				get(h, "/page")
				time.Sleep(15 * time.Second)
				down.Store(true)
				w := get(h, "/page", "Cache-Control", fmt.Sprintf("no-cache, stale-if-error=%d", tc.sie))
				synctest.Wait()
				assert.Equal(t, tc.want, w.Code)
			})
		})
	}
}
