package caching

import (
	"bytes"
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

// TestCachedOverCompressRevalidationKeepsTheEncodedFields: under
// Cached(compress(h)), a handler that sets a digest of its bytes and
// Accept-Ranges, and answers revalidations itself (http.ServeContent), had
// its gzip entry served with the identity's Repr-Digest, Content-MD5 and
// Accept-Ranges once the cache revalidated it: compress's 304, labelled
// with the gzip variant's ETag, carried them, and the cache merged them
// into the stored gzip response (RFC 9111 section 4.3.4). A client that
// checks digests rejected it. The entry keeps the fields of its 200.
func TestCachedOverCompressRevalidationKeepsTheEncodedFields(t *testing.T) {
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	body := []byte(strings.Repeat("<p>hello</p>\n", 200))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "public, no-cache") // revalidated on every use
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Accept-Ranges", "bytes")
		w.Header().Set("Repr-Digest", "sha-256=:aWRlbnRpdHk=:")
		w.Header().Set("Content-MD5", "aWRlbnRpdHk=")
		http.ServeContent(w, r, "", mod, bytes.NewReader(body))
	})
	for _, shared := range []bool{false, true} {
		for _, mode := range []compress.ETagMode{compress.ETagWeaken, compress.ETagSuffix} {
			c := Must(nil)
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			h := c.Cached(time.Minute, opts...)(compress.Must(compress.Options{ETag: mode}).Handler(page))
			var statuses []string
			for i := range 3 {
				r := httptest.NewRequest(http.MethodGet, "/p", nil)
				r.Header.Set("Accept-Encoding", "gzip")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				require.Equal(t, http.StatusOK, w.Code)
				require.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
				statuses = append(statuses, w.Header().Get("X-Cache"))
				for _, k := range []string{"Repr-Digest", "Content-Md5", "Accept-Ranges"} {
					assert.Empty(t, w.Header()[k], "shared=%v mode=%v request %d (%s): the gzip response has no %s", shared, mode, i, w.Header().Get("X-Cache"), k)
				}
			}
			assert.NotEqual(t, "MISS", statuses[2], "shared=%v mode=%v: the entry was revalidated, not replaced (%v)", shared, mode, statuses)
			c.Close()
		}
	}
}
