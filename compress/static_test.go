package compress_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

func encodeAll(t *testing.T, enc string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case compress.Gzip:
		w = stdgzip.NewWriter(&b)
	case compress.Brotli:
		w = brotli.NewWriter(&b)
	case compress.Zstd:
		zw, err := zstd.NewWriter(&b)
		require.NoError(t, err)
		w = zw
	}
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestFileServer(t *testing.T) {
	js := bytes.Repeat([]byte("function hello() { return 'world'; }\n"), 100)
	old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	html := append([]byte("<!DOCTYPE html><html><body>"), bytes.Repeat([]byte("<p>x</p>"), 200)...)
	fsys := fstest.MapFS{
		"app.js":            {Data: js, ModTime: old},
		"app.js.gz":         {Data: encodeAll(t, compress.Gzip, js), ModTime: old},
		"app.js.br":         {Data: encodeAll(t, compress.Brotli, js), ModTime: old},
		"app.js.zst":        {Data: encodeAll(t, compress.Zstd, js), ModTime: old},
		"style.css":         {Data: []byte("body { color: red }"), ModTime: old},
		"page.noext":        {Data: html, ModTime: old},
		"page.noext.gz":     {Data: encodeAll(t, compress.Gzip, html), ModTime: old},
		"dir/index.html":    {Data: html, ModTime: old},
		"dir/index.html.br": {Data: encodeAll(t, compress.Brotli, html), ModTime: old},
	}
	h := compress.Must(compress.Options{}).FileServer(fsys)
	do := func(method, path string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}

	for _, tc := range []struct {
		name, ae, wantEnc string
	}{
		{"zstd preferred", "gzip, br, zstd", "zstd"},
		{"br", "gzip, br", "br"},
		{"gzip", "gzip", "gzip"},
		{"refused gzip", "gzip;q=0", ""},
		{"q order", "zstd;q=0.1, gzip", "gzip"},
		{"identity preferred", "identity, gzip;q=0.5", ""},
		{"none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if tc.ae == "" {
				rec = do(http.MethodGet, "/app.js")
			} else {
				rec = do(http.MethodGet, "/app.js", "Accept-Encoding", tc.ae)
			}
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, tc.wantEnc, rec.Header().Get("Content-Encoding"))
			assert.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Equal(t, "Accept-Encoding", rec.Header().Get("Vary"))
			assert.Equal(t, string(js), string(decode(t, tc.wantEnc, rec.Body.Bytes())))
		})
	}

	t.Run("Range applies to the variant", func(t *testing.T) {
		rec := do(http.MethodGet, "/app.js", "Accept-Encoding", "gzip", "Range", "bytes=0-9")
		require.Equal(t, http.StatusPartialContent, rec.Code)
		assert.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
		assert.Equal(t, fsys["app.js.gz"].Data[:10], rec.Body.Bytes())
	})
	t.Run("If-Modified-Since answers 304", func(t *testing.T) {
		rec := do(http.MethodGet, "/app.js", "Accept-Encoding", "br", "If-Modified-Since", old.Format(http.TimeFormat))
		assert.Equal(t, http.StatusNotModified, rec.Code)
		assert.Equal(t, "Accept-Encoding", rec.Header().Get("Vary"))
	})
	t.Run("HEAD", func(t *testing.T) {
		rec := do(http.MethodHead, "/app.js", "Accept-Encoding", "br")
		assert.Equal(t, "br", rec.Header().Get("Content-Encoding"))
		assert.Empty(t, rec.Body.Bytes())
	})
	t.Run("no sibling: no Vary", func(t *testing.T) {
		rec := do(http.MethodGet, "/style.css", "Accept-Encoding", "gzip")
		assert.Empty(t, rec.Header().Get("Content-Encoding"))
		assert.Empty(t, rec.Header().Get("Vary"))
		assert.Equal(t, "body { color: red }", rec.Body.String())
	})
	t.Run("type sniffed from the original", func(t *testing.T) {
		rec := do(http.MethodGet, "/page.noext", "Accept-Encoding", "gzip")
		assert.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
		assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		assert.Equal(t, string(html), string(decode(t, "gzip", rec.Body.Bytes())))
	})
	t.Run("directory index", func(t *testing.T) {
		rec := do(http.MethodGet, "/dir/", "Accept-Encoding", "br")
		assert.Equal(t, "br", rec.Header().Get("Content-Encoding"))
		assert.Equal(t, string(html), string(decode(t, "br", rec.Body.Bytes())))
	})
	t.Run("missing file", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, do(http.MethodGet, "/nope.js", "Accept-Encoding", "gzip").Code)
	})
	t.Run("Go client through a real server", func(t *testing.T) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL + "/app.js")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.True(t, resp.Uncompressed)
		assert.Equal(t, string(js), string(body))
	})
}
