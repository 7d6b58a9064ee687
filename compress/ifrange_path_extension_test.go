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

// TestNeverEncodedDownloadKeepsItsRange: a browser resuming a download sends
// Range with If-Range: <Last-Modified> (http.ServeContent sets no ETag), and
// Accept-Encoding as always. For a file compress never encodes (a PDF, an
// .exe served as application/octet-stream) or does not encode under the
// default MimeTypes (an .iso, a .dmg), the representation selected is the
// unencoded one, so the range is served. The extensions used to be missing
// from the list Handler consults before the handler runs: Range and
// If-Range were stripped and every resume restarted the whole download.
func TestNeverEncodedDownloadKeepsItsRange(t *testing.T) {
	t.Parallel()
	c := compress.Must(compress.Options{})
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	content := bytes.Repeat([]byte("%PDF-1.7 binary-ish content "), 4000)
	for _, name := range []string{"/manual.pdf", "/installer.iso", "/setup.exe", "/app.dmg", "/Tool.MSI", "/app.apk", "/pkg.deb", "/lib.jar", "/disk.img"} {
		h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, name, mod, bytes.NewReader(content))
		}))
		w := serveFile(h, name, "Accept-Encoding", "gzip, deflate, br, zstd",
			"Range", "bytes=100000-", "If-Range", mod.Format(http.TimeFormat))
		require.Empty(t, w.Header().Get("Content-Encoding"), "%s (%s) was encoded", name, w.Header().Get("Content-Type"))
		require.Equal(t, http.StatusPartialContent, w.Code, "%s (%s): the resume restarted the download (%d bytes)",
			name, w.Header().Get("Content-Type"), w.Body.Len())
		assert.Equal(t, content[100000:], w.Body.Bytes(), name)
	}
}
