package compress_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

func serveFile(h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// appWithSibling returns app.js, its time and a file system holding it and
// its gzip sibling of the same time.
func appWithSibling(t *testing.T) ([]byte, time.Time, fstest.MapFS) {
	js := bytes.Repeat([]byte("function hello() { return 'world'; }\n"), 100)
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return js, mod, fstest.MapFS{
		"app.js":    {Data: js, ModTime: mod},
		"app.js.gz": {Data: encodeAll(t, compress.Gzip, js), ModTime: mod},
	}
}

// TestFileServerSkipsStaleSibling: app.js was redeployed but app.js.gz was
// not rebuilt. Clients that accept gzip used to get the old script; a
// sibling older than its original is now ignored, and the original served.
func TestFileServerSkipsStaleSibling(t *testing.T) {
	t.Parallel()
	oldJS := bytes.Repeat([]byte("function v1() { return 'old'; }\n"), 100)
	newJS := bytes.Repeat([]byte("function v2() { return 'new'; }\n"), 100)
	old := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	fsys := fstest.MapFS{
		"app.js":     {Data: newJS, ModTime: old.Add(24 * time.Hour)},
		"app.js.gz":  {Data: encodeAll(t, compress.Gzip, oldJS), ModTime: old},
		"same.js":    {Data: newJS, ModTime: old},
		"same.js.gz": {Data: encodeAll(t, compress.Gzip, newJS), ModTime: old},
	}
	c := compress.Must(compress.Options{})

	w := serveFile(c.FileServer(fsys), "/app.js", "Accept-Encoding", "gzip")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, w.Header().Get("Content-Encoding"))
	assert.Empty(t, w.Header().Get("Vary"), "no sibling is used: the response does not vary")
	assert.Equal(t, string(newJS), w.Body.String())

	w = serveFile(c.Handler(c.FileServer(fsys)), "/app.js", "Accept-Encoding", "gzip")
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), "the original, compressed on the fly")
	assert.Equal(t, string(newJS), string(decode(t, "gzip", w.Body.Bytes())))

	w = serveFile(c.FileServer(fsys), "/same.js", "Accept-Encoding", "gzip")
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), "a sibling as old as its original is used (gzip -k keeps the time)")
	assert.Equal(t, string(newJS), string(decode(t, "gzip", w.Body.Bytes())))
}

// TestFileServerIfRangeDoesNotCrossVariants: the original and its sibling
// share a modification time, and a date If-Range names both. A client
// accepting gzip, which may hold the decoded content (curl --compressed),
// used to get a range of the sibling; it now gets the whole sibling. A
// client accepting no encoding is sent the original, and gets its range
// (a browser resumes so, holding what it decoded).
func TestFileServerIfRangeDoesNotCrossVariants(t *testing.T) {
	t.Parallel()
	js, mod, fsys := appWithSibling(t)
	fsys["plain.js"] = &fstest.MapFile{Data: js, ModTime: mod}
	h := compress.Must(compress.Options{}).FileServer(fsys)
	date := mod.Format(http.TimeFormat)
	t.Run("gzip sent: the whole sibling", func(t *testing.T) {
		t.Parallel()
		w := serveFile(h, "/app.js", "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", date)
		require.Equal(t, http.StatusOK, w.Code, "Content-Range %q", w.Header().Get("Content-Range"))
		assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
		assert.Equal(t, string(js), string(decode(t, "gzip", w.Body.Bytes())))
	})
	t.Run("original sent: its range", func(t *testing.T) {
		t.Parallel()
		w := serveFile(h, "/app.js", "Range", "bytes=10-", "If-Range", date)
		require.Equal(t, http.StatusPartialContent, w.Code)
		assert.Empty(t, w.Header().Get("Content-Encoding"))
		assert.Equal(t, string(js[10:]), w.Body.String())
	})
	t.Run("no sibling: the range is answered", func(t *testing.T) {
		t.Parallel()
		w := serveFile(h, "/plain.js", "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", date)
		require.Equal(t, http.StatusPartialContent, w.Code)
		assert.Equal(t, string(js[10:]), w.Body.String())
	})
	t.Run("Range without If-Range applies to the variant", func(t *testing.T) {
		t.Parallel()
		w := serveFile(h, "/app.js", "Accept-Encoding", "gzip", "Range", "bytes=10-")
		require.Equal(t, http.StatusPartialContent, w.Code)
		assert.Equal(t, fsys["app.js.gz"].Data[10:], w.Body.Bytes())
	})
}

// TestFileServerHonoursSkip: a request Options.Skip passes through (for
// which Negotiate says "") gets the original file untouched, as
// http.FileServerFS sends it, no sibling and no Vary. It used to get the
// gzip sibling.
func TestFileServerHonoursSkip(t *testing.T) {
	t.Parallel()
	js, _, fsys := appWithSibling(t)
	c := compress.Must(compress.Options{Skip: func(r *http.Request) bool {
		return r.Header.Get("User-Agent") == "broken-gzip-client"
	}})
	w := serveFile(c.FileServer(fsys), "/app.js", "Accept-Encoding", "gzip", "User-Agent", "broken-gzip-client")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, w.Header().Get("Content-Encoding"))
	assert.Empty(t, w.Header().Get("Vary"))
	assert.Equal(t, string(js), w.Body.String())

	w = serveFile(c.FileServer(fsys), "/app.js", "Accept-Encoding", "gzip")
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), "a request not skipped gets the sibling")
}
