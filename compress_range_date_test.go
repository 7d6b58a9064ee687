package caching

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestSharedCacheDateIfRangeOfCompressed: a handler that validates with
// Last-Modified only (http.ServeContent with no ETag) behind compress, with
// a SharedCache view in either order. A client resuming a gzip download
// with Range and If-Range set to that date used to get a 206 of the
// unencoded body: on a miss in both orders (a Range request bypasses the
// store and reaches the handler), and on a hit with compress outside the
// view (answered from the stored unencoded 200). Compress now hands the
// view and the handler the request without Range, so the whole body is
// sent, encoded.
func TestSharedCacheDateIfRangeOfCompressed(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	mod := time.Now().Add(-time.Hour).Truncate(time.Second)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=60")
		http.ServeContent(w, r, "", mod, strings.NewReader(catalogJSON))
	})
	mw := compress.Middleware(compress.Options{})
	view := c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"Cached(compress)", view(mw(h))},
		{"compress(Cached)", mw(view(h))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, phase := range []string{"miss", "hit"} {
				path := "/" + tc.name + "/" + phase
				if phase == "hit" {
					require.Equal(t, "gzip", rangeProbe(tc.h, path).Header().Get("Content-Encoding"))
				}
				w := rangeProbe(tc.h, path, "Range", "bytes=10-", "If-Range", mod.UTC().Format(http.TimeFormat))
				require.Equal(t, http.StatusOK, w.Code, "%s: Content-Range %q", path, w.Header().Get("Content-Range"))
				assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), path)
				assert.Equal(t, catalogJSON, decodeBody(t, w), path)
			}
		})
	}
}
