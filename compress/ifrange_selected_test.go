package compress_test

import (
	"bytes"
	"math/rand"
	"net/http"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// A range is a range of the representation selected for the request: when
// it is encoded, a date (or weak-tag) If-Range, which cannot tell it from
// the decoded content a client may hold, gets the whole encoded body; when
// it is the unencoded one, the range is served as the handler serves it.

// TestIfRangeNeverEncodedTypeKeepsItsRange: compress never encodes a .zip
// or an .mp4 (not in MimeTypes), so a client holding the start of one holds
// its unencoded bytes, whatever it accepts. A resume with Range and a date
// If-Range (http.FileServer sets only Last-Modified) from a client
// accepting every encoding used to be sent the whole file again.
func TestIfRangeNeverEncodedTypeKeepsItsRange(t *testing.T) {
	t.Parallel()
	big := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(big)
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	date := mod.Format(http.TimeFormat)
	fsys := fstest.MapFS{
		"big.zip":  {Data: big, ModTime: mod},
		"clip.mp4": {Data: big, ModTime: mod},
		"data.txt": {Data: bytes.Repeat([]byte("some text "), 1000), ModTime: mod},
		"noext":    {Data: bytes.Repeat([]byte("some text "), 1000), ModTime: mod},
	}
	h := compress.Must(compress.Options{}).Handler(http.FileServerFS(fsys))
	for _, name := range []string{"/big.zip", "/clip.mp4"} {
		w := serveFile(h, name,
			"Accept-Encoding", "gzip, deflate, br, zstd",
			"Range", "bytes=1000000-",
			"If-Range", date)
		require.Equal(t, http.StatusPartialContent, w.Code, "%s: sent whole (%d bytes)", name, w.Body.Len())
		assert.Empty(t, w.Header().Get("Content-Encoding"), name)
		assert.Equal(t, big[1000000:], w.Body.Bytes(), name)
	}
	// A type compress encodes, or one the path does not tell, is sent whole
	// and encoded: the client may hold encoded bytes.
	for _, name := range []string{"/data.txt", "/noext"} {
		w := serveFile(h, name, "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", date)
		require.Equal(t, http.StatusOK, w.Code, "%s: Content-Range %q", name, w.Header().Get("Content-Range"))
		assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), name)
		assert.Equal(t, fsys[name[1:]].Data, decode(t, "gzip", w.Body.Bytes()), name)
	}
	// Only the extension of a compressed format keeps the range: a .txt
	// that MimeTypes leaves out is not encoded, but its path does not say
	// so before the handler runs, and the whole (unencoded) file is sent.
	jsonOnly := compress.Must(compress.Options{MimeTypes: []string{"application/json"}}).Handler(http.FileServerFS(fsys))
	w := serveFile(jsonOnly, "/data.txt", "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", date)
	require.Equal(t, http.StatusOK, w.Code, "Content-Range %q", w.Header().Get("Content-Range"))
	assert.Empty(t, w.Header().Get("Content-Encoding"))
	assert.Equal(t, fsys["data.txt"].Data, w.Body.Bytes())
}

// TestIfRangeETagKeepAnyIfRangeGetsWholeBody: under ETagKeep a Range with
// any If-Range, even the strong tag of the handler's own gzip bytes, from a
// client that accepts an encoding gets the whole body: compress cannot tell
// a handler that encodes its own responses (here) from one whose tag for
// the encoded variant matches its unencoded bytes. The cost: such a
// handler's ranges are lost.
func TestIfRangeETagKeepAnyIfRangeGetsWholeBody(t *testing.T) {
	t.Parallel()
	gz := encodeAll(t, compress.Gzip, bytes.Repeat([]byte("abcdefghij"), 10000))
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	h := compress.Must(compress.Options{ETag: compress.ETagKeep}).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Vary", "Accept-Encoding")
			w.Header().Set("ETag", `"v1-gzip"`)
			http.ServeContent(w, r, "", mod, bytes.NewReader(gz))
		}))
	w := serveFile(h, "/data.txt", "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", `"v1-gzip"`)
	require.Equal(t, http.StatusOK, w.Code, "a strong tag: Content-Range %q", w.Header().Get("Content-Range"))
	assert.Equal(t, gz, w.Body.Bytes())

	w = serveFile(h, "/data.txt", "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", mod.Format(http.TimeFormat))
	require.Equal(t, http.StatusOK, w.Code, "a date: Content-Range %q", w.Header().Get("Content-Range"))
	assert.Equal(t, gz, w.Body.Bytes())
}

// TestIfRangeResumeSameAnswerFromHandlerAndFileServer: the same file, served
// by compress.Handler over http.ServeContent and by FileServer with a gzip
// sibling of the same time, resumed with a date If-Range. A client sending
// Accept-Encoding: identity (browsers do with a Range; they hold what they
// decoded) is selected the unencoded file and gets its range from both; it
// used to get the whole file from FileServer. A client accepting gzip is
// selected the encoded one and gets it whole from both.
func TestIfRangeResumeSameAnswerFromHandlerAndFileServer(t *testing.T) {
	t.Parallel()
	js, mod, fsys := appWithSibling(t)
	c := compress.Must(compress.Options{})
	date := mod.Format(http.TimeFormat)
	serveJS := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeContent(w, r, "", mod, bytes.NewReader(js))
	})
	onTheFly := c.Handler(serveJS)
	first := serveFile(onTheFly, "/app.js", "Accept-Encoding", "gzip")
	require.Equal(t, "gzip", first.Header().Get("Content-Encoding"))
	require.Equal(t, date, first.Header().Get("Last-Modified"))

	for name, h := range map[string]http.Handler{"Handler": onTheFly, "FileServer": c.FileServer(fsys)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := serveFile(h, "/app.js", "Accept-Encoding", "identity", "Range", "bytes=100-", "If-Range", date)
			require.Equal(t, http.StatusPartialContent, w.Code)
			assert.Empty(t, w.Header().Get("Content-Encoding"))
			assert.Equal(t, js[100:], w.Body.Bytes())

			w = serveFile(h, "/app.js", "Accept-Encoding", "gzip", "Range", "bytes=100-", "If-Range", date)
			require.Equal(t, http.StatusOK, w.Code, "Content-Range %q", w.Header().Get("Content-Range"))
			assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
			assert.Equal(t, js, decode(t, "gzip", w.Body.Bytes()))
		})
	}
	// A request Options.Skip passes through is sent the unencoded file:
	// its range, from both.
	skip := compress.Must(compress.Options{Skip: func(*http.Request) bool { return true }})
	for name, h := range map[string]http.Handler{"Handler": skip.Handler(serveJS), "FileServer": skip.FileServer(fsys)} {
		w := serveFile(h, "/app.js", "Accept-Encoding", "gzip", "Range", "bytes=100-", "If-Range", date)
		require.Equal(t, http.StatusPartialContent, w.Code, name)
		assert.Equal(t, js[100:], w.Body.Bytes(), name)
	}
}
