package compress_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestIfRangePathExtensionDecidesOnlyForCompressedFormats: Handler selects
// the representation before the handler runs, by the path's extension, and
// keeps a range with a date If-Range only for an extension of a format
// already compressed (an archive, a video, an image, a font) whose type
// MimeTypes rules out. The decision used to follow mime.TypeByExtension,
// which reads the host's mime.types: /index.php (legacy URL serving HTML)
// or /docs/README.md could name a type never encoded on one host and not
// on another, and the resume got a 206 of the unencoded HTML although the
// 200 was gzip-encoded.
func TestIfRangePathExtensionDecidesOnlyForCompressedFormats(t *testing.T) {
	t.Parallel()
	html := bytes.Repeat([]byte("<p>hello world</p>\n"), 2000)
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	date := mod.Format(http.TimeFormat)
	h := compress.Must(compress.Options{}).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			http.ServeContent(w, r, "", mod, bytes.NewReader(html))
		}))
	for _, p := range []string{"/index.php", "/docs/README.md", "/config.yaml"} {
		first := serveFile(h, p, "Accept-Encoding", "gzip")
		require.Equal(t, "gzip", first.Header().Get("Content-Encoding"), p)
		w := serveFile(h, p, "Accept-Encoding", "gzip", "Range", "bytes=100-", "If-Range", date)
		require.Equal(t, http.StatusOK, w.Code,
			"%s: the 200 was gzip, the resume got a range of the unencoded body (Content-Range %q)", p, w.Header().Get("Content-Range"))
		assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), p)
		assert.Equal(t, html, decode(t, "gzip", w.Body.Bytes()), p)
	}

	// The documented exception: a handler serving an encodable type at a
	// path whose extension names a compressed format (.zip) gets a range
	// of its unencoded bytes on a date If-Range, though its 200 to the same
	// client was encoded. Do not serve HTML at /download.zip.
	first := serveFile(h, "/download.zip", "Accept-Encoding", "gzip")
	require.Equal(t, "gzip", first.Header().Get("Content-Encoding"))
	w := serveFile(h, "/download.zip", "Accept-Encoding", "gzip", "Range", "bytes=100-", "If-Range", date)
	require.Equal(t, http.StatusPartialContent, w.Code)
	assert.Empty(t, w.Header().Get("Content-Encoding"))
	assert.Equal(t, html[100:], w.Body.Bytes())
}
