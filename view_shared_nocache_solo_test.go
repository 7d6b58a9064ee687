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

// TestNoCacheRevalidationWaitersRunOnce: in a SharedCache view, a
// stored response with a lifetime of 0 ("public, max-age=0" with an ETag:
// express/serve-static's default; no-cache) is revalidated by every
// request. Concurrent requests still collapse onto one revalidation, and
// since 10d4fc4 a waiter is not handed the 304's result: it waits for the
// whole revalidation, then runs its own. Each request but the first takes
// twice the origin's time, where without the cache each takes it once
// (rule 2). Known before the run starts: the entry revalidated is itself
// not reusable, so its revalidation need not be collapsed. Without a
// validator (etag=false: "no-cache" on a dynamic page) nothing usable is
// kept, and every burst of requests pays it: each waiter waits for the
// leader's header, then runs its own.
func TestNoCacheRevalidationWaitersRunOnce(t *testing.T) {
	for _, tc := range []struct {
		cc   string
		etag bool
	}{{"public, max-age=0", true}, {"no-cache", true}, {"no-cache", false}} {
		cc := tc.cc
		t.Run(fmt.Sprint(cc, "/etag=", tc.etag), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var calls atomic.Int32
				h := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					time.Sleep(time.Second) // the origin's time for any answer
					w.Header().Set("Cache-Control", cc)
					if tc.etag {
						w.Header().Set("ETag", `"v1"`)
					}
					if r.Header.Get("If-None-Match") == `"v1"` {
						w.WriteHeader(http.StatusNotModified)
						return
					}
					fmt.Fprint(w, "static file")
				}))
				require.Equal(t, "static file", get(h, "/app.js").Body.String()) // stored, to revalidate

				start := time.Now()
				done := make(chan time.Duration, 2)
				for range 2 {
					go func() {
						w := get(h, "/app.js")
						assert.Equal(t, "static file", w.Body.String())
						done <- time.Since(start)
					}()
				}
				first, second := <-done, <-done
				assert.Equal(t, time.Second, first)
				assert.LessOrEqual(t, second, time.Second, "each request takes the origin's time once without the cache; calls: %d", calls.Load())
			})
		})
	}
}
