package caching

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestCompressOverCachedIfModifiedSince304NamesTheEncodedVariant: under
// compress(Cached(h)), the cache hit's 304 to a client that holds the gzip
// variant and revalidates with If-Modified-Since only went out with the
// identity's strong ETag "v1"; it names the gzip variant, as the GET did.
func TestCompressOverCachedIfModifiedSince304NamesTheEncodedVariant(t *testing.T) {
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	body := strings.Repeat("<p>hello</p>\n", 200)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", mod.Format(http.TimeFormat))
		_, _ = w.Write([]byte(body))
	})
	for _, shared := range []bool{false, true} {
		for _, mode := range []compress.ETagMode{compress.ETagSuffix, compress.ETagWeaken} {
			c := Must(nil)
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			h := compress.Must(compress.Options{ETag: mode}).Handler(c.Cached(time.Minute, opts...)(page))
			get := func(ims bool) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, "/p", nil)
				r.Header.Set("Accept-Encoding", "gzip")
				if ims {
					r.Header.Set("If-Modified-Since", mod.Format(http.TimeFormat))
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			full := get(false)
			require.Equal(t, "gzip", full.Header().Get("Content-Encoding"))
			held := full.Header().Get("Etag")
			require.NotEqual(t, `"v1"`, held)
			revalidated := get(true)
			require.Equal(t, http.StatusNotModified, revalidated.Code)
			assert.Equal(t, "HIT", revalidated.Header().Get("X-Cache"), "shared=%v mode=%v", shared, mode)
			assert.Equal(t, held, revalidated.Header().Get("Etag"), "shared=%v mode=%v: the 304 names the variant the client holds", shared, mode)
			c.Close()
		}
	}
}
