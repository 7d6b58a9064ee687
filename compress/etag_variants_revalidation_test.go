package compress_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestETagModesOnMultiVariantRevalidation: a cache that holds several
// encoded variants of a page may revalidate with all their tags in one
// If-None-Match (RFC 9111 section 4.3.1) and update the stored response
// the 304's ETag selects (section 4.3.4). Under ETagWeaken, the default,
// every encoded variant has the same tag W/"v": a br-only request that
// names it gets a 304 whatever variant the cache holds, and a cache that
// then picks its gzip copy serves gzip to a client that accepts only br.
// Under ETagSuffix each variant has its own strong tag ("v:gzip",
// "v:br"), and the 304 names the br one: the cache can only pick the
// variant the client accepts, and a request naming only the gzip copy's
// tag gets the br body. The default is kept (see ETagWeaken); this shows
// both behaviours, for a handler that answers If-None-Match itself
// (http.ServeContent) and for one that leaves it to the Compressor.
func TestETagModesOnMultiVariantRevalidation(t *testing.T) {
	handlers := map[string]http.Handler{
		"handler answers": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"v"`)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(big))
		}),
		"compressor answers": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v"`)
			writeJSON(big)(w, r)
		}),
	}
	for name, h := range handlers {
		for _, mode := range []compress.ETagMode{compress.ETagWeaken, compress.ETagSuffix} {
			t.Run(name+"/"+map[compress.ETagMode]string{compress.ETagWeaken: "weaken", compress.ETagSuffix: "suffix"}[mode], func(t *testing.T) {
				srv := httptest.NewServer(compress.Must(compress.Options{ETag: mode}).Handler(h))
				defer srv.Close()
				fetch := func(ae string, inm ...string) (*http.Response, []byte) {
					hdr := http.Header{"Accept-Encoding": {ae}}
					if len(inm) > 0 {
						hdr["If-None-Match"] = inm
					}
					return roundTrip(t, http.MethodGet, srv.URL+"/", hdr)
				}
				gzipRes, _ := fetch("gzip")
				brRes, _ := fetch("br")
				require.Equal(t, "gzip", gzipRes.Header.Get("Content-Encoding"))
				require.Equal(t, "br", brRes.Header.Get("Content-Encoding"))
				gzipTag, brTag := gzipRes.Header.Get("ETag"), brRes.Header.Get("ETag")

				both, _ := fetch("br", gzipTag+", "+brTag)
				require.Equal(t, http.StatusNotModified, both.StatusCode)
				onlyGzip, body := fetch("br", gzipTag)
				if mode == compress.ETagWeaken {
					// The trade-off the default makes.
					assert.Equal(t, `W/"v"`, gzipTag)
					assert.Equal(t, gzipTag, brTag, "one tag for every encoded variant")
					assert.Equal(t, gzipTag, both.Header.Get("ETag"), "the 304 selects the gzip copy as well as the br one")
					assert.Equal(t, http.StatusNotModified, onlyGzip.StatusCode, "a cache holding only gzip is told it is current")
					return
				}
				assert.Equal(t, `"v:gzip"`, gzipTag)
				assert.Equal(t, `"v:br"`, brTag)
				assert.Equal(t, brTag, both.Header.Get("ETag"), "the 304 selects the br variant only")
				assert.Equal(t, http.StatusOK, onlyGzip.StatusCode, "the gzip copy is not vouched for a br-only client")
				assert.Equal(t, "br", onlyGzip.Header.Get("Content-Encoding"))
				assert.Equal(t, brTag, onlyGzip.Header.Get("ETag"))
				assert.Equal(t, big, decode(t, "br", body))
			})
		}
	}
}
