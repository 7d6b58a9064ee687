package compress_test

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

// TestHandler304ToIfModifiedSinceNamesTheEncodedVariant: a client holding
// the gzip variant ("v1:gzip" under ETagSuffix, W/"v1" under ETagWeaken)
// revalidates with If-Modified-Since only. The handler's own 304
// (http.ServeContent, or a response cache's hit below compress) carried
// "v1", the identity's strong tag, for the encoded bytes the client holds:
// a cache holding "v1:gzip" may not use it (RFC 9111 section 4.3.4), and
// one that merges it anyway labels gzip bytes with the identity's strong
// validator. It now names the variant negotiated for the request, as the
// 304 compress's Conditional makes of the same request does.
func TestHandler304ToIfModifiedSinceNamesTheEncodedVariant(t *testing.T) {
	body := []byte(strings.Repeat("<p>hello</p>\n", 200))
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	serveContent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", mod, bytes.NewReader(body))
	})
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", mod.Format(http.TimeFormat))
		_, _ = w.Write(body)
	})
	getPath := func(h http.Handler, path, ae, inm string, ims bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		if ims {
			r.Header.Set("If-Modified-Since", mod.Format(http.TimeFormat))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	get := func(h http.Handler, ae, inm string, ims bool) *httptest.ResponseRecorder {
		return getPath(h, "/", ae, inm, ims)
	}
	for _, mode := range []struct {
		name string
		m    compress.ETagMode
		held string // the gzip variant's ETag
	}{
		{"suffix", compress.ETagSuffix, `"v1:gzip"`},
		{"weaken", compress.ETagWeaken, `W/"v1"`},
	} {
		t.Run(mode.name, func(t *testing.T) {
			cz := compress.Must(compress.Options{ETag: mode.m})
			full := get(cz.Handler(serveContent), "gzip", "", false)
			require.Equal(t, "gzip", full.Header().Get("Content-Encoding"))
			require.Equal(t, mode.held, full.Header().Get("Etag"))

			byConditional := get(cz.Handler(plain), "gzip", "", true)
			require.Equal(t, http.StatusNotModified, byConditional.Code)
			assert.Equal(t, mode.held, byConditional.Header().Get("Etag"), "compress's own 304")

			byHandler := get(cz.Handler(serveContent), "gzip", "", true)
			require.Equal(t, http.StatusNotModified, byHandler.Code)
			assert.Equal(t, mode.held, byHandler.Header().Get("Etag"), "the handler's 304 names the variant the client holds")
			assert.Equal(t, []string{"Accept-Encoding"}, byHandler.Header().Values("Vary"))

			// Unchanged: a client that accepts no encoding holds the
			// identity representation; one whose If-None-Match names the
			// identity's tag holds that.
			identity := get(cz.Handler(serveContent), "", "", true)
			require.Equal(t, http.StatusNotModified, identity.Code)
			assert.Equal(t, `"v1"`, identity.Header().Get("Etag"), "no encoding accepted")
			named := get(cz.Handler(serveContent), "gzip", `"v1"`, true)
			require.Equal(t, http.StatusNotModified, named.Code)
			assert.Equal(t, `"v1"`, named.Header().Get("Etag"), "If-None-Match named the identity's tag")
			// A file whose type is never encoded: ServeContent's 304
			// has no Content-Type, but the path tells its 200 was the
			// identity.
			png := getPath(cz.Handler(serveContent), "/logo.png", "gzip", "", true)
			require.Equal(t, http.StatusNotModified, png.Code)
			assert.Equal(t, `"v1"`, png.Header().Get("Etag"), "a .png is never encoded")
		})
	}
	t.Run("streaming encoding only", func(t *testing.T) {
		// The client accepts only an encoding used for streamed
		// responses: the 304 names that variant, never the identity's
		// strong tag (at worst the client's cache runs a full request).
		cz := compress.Must(compress.Options{ETag: compress.ETagSuffix, Algorithms: []string{"gzip"}, StreamingAlgorithms: []string{"zstd"}})
		w := get(cz.Handler(serveContent), "zstd", "", true)
		require.Equal(t, http.StatusNotModified, w.Code)
		assert.Equal(t, `"v1:zstd"`, w.Header().Get("Etag"))
	})
}
