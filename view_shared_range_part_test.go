package caching

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheRangePartKeepsStaleEntry: in a SharedCache view, a Range
// request on a stale entry got from the handler a 200 with Content-Range
// (a part, whatever its status says) that is not stored: without freshness
// information, private, no-store, setting a cookie, or past MaxBodySize. It
// was refused for what the resource is (no freshness, private, no-store,
// too large): the stale entry was dropped, and the key marked
// hit-for-pass. A part is its request's alone, not the representation: it
// is refused as a part, the entry stays, the key is not marked, and the
// next request revalidates the entry.
func TestSharedCacheRangePartKeepsStaleEntry(t *testing.T) {
	large := strings.Repeat("x", 100)
	for _, tc := range []struct {
		name, body string
		hdr        []string // the part's header fields, name then value
	}{
		{"no freshness", "full", nil},
		{"private", "full", []string{"Cache-Control", "private, max-age=60"}},
		{"no-store", "full", []string{"Cache-Control", "no-store"}},
		{"set-cookie", "full", []string{"Cache-Control", "max-age=60", "Set-Cookie", "s=1"}},
		{"too large", large, []string{"Cache-Control", "max-age=60"}},
		{"too large, length", large, []string{"Cache-Control", "max-age=60", "Content-Length", "100"}},
		{"trailer", "full", []string{"Cache-Control", "max-age=60", "Trailer", "X-Sum"}},
		{"stream", "full", []string{"Cache-Control", "max-age=60", "Content-Type", "text/event-stream"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				var runs atomic.Int64
				var sawINM atomic.Value
				h := c.Cached(time.Hour, SharedCache(), MaxBodySize(64))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := runs.Add(1)
					if len(r.Header["Range"]) > 0 {
						w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/200", len(tc.body)-1))
						for i := 0; i+1 < len(tc.hdr); i += 2 {
							w.Header().Set(tc.hdr[i], tc.hdr[i+1])
						}
						fmt.Fprint(w, tc.body)
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
				require.Equal(t, tc.body, part.Body.String(), "the handler's part reaches its client")
				require.Equal(t, int64(2), runs.Load())
				assert.Zero(t, h.(*view).passed.n.Load(), "the key is not marked for hit-for-pass")

				res := get(h, "/p")
				assert.Equal(t, `"v1"`, sawINM.Load(), "the stale entry was dropped: the next request did not revalidate it")
				assert.Equal(t, "full #1", res.Body.String(), "the stale entry was dropped: not freshened by the origin's 304")
			})
		})
	}
}
