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

// TestSharedCacheRangePartWithoutFreshnessKeepsStaleEntry: in a
// SharedCache view, a Range request on a stale entry got from the handler
// a 200 with Content-Range (a part, whatever its status says) and no
// freshness information. It was refused as "no freshness", for what the
// resource is: the stale entry was dropped, and the key marked
// hit-for-pass. It is refused as a part, its request's alone: the entry
// stays, and the next request revalidates it.
func TestSharedCacheRangePartWithoutFreshnessKeepsStaleEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var runs atomic.Int64
		var sawINM atomic.Value
		h := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := runs.Add(1)
			if len(r.Header["Range"]) > 0 {
				w.Header().Set("Content-Range", "bytes 0-3/7")
				fmt.Fprint(w, "full")
				return
			}
			sawINM.Store(r.Header.Get("If-None-Match"))
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Cache-Control", "max-age=1")
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			fmt.Fprintf(w, "full #%d", n)
		}))
		require.Equal(t, "full #1", get(h, "/p").Body.String())
		time.Sleep(2 * time.Second) // stale, kept for revalidation (ETag)

		part := get(h, "/p", "Range", "bytes=0-3")
		require.Equal(t, "full", part.Body.String(), "the handler's part reaches its client")
		require.Equal(t, int64(2), runs.Load())

		res := get(h, "/p")
		assert.Equal(t, `"v1"`, sawINM.Load(), "the stale entry was dropped: the next request did not revalidate it")
		assert.Equal(t, "full #1", res.Body.String(), "the stale entry was dropped: not freshened by the origin's 304")
	})
}
