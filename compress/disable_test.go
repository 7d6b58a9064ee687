package compress_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestDisableKeepsServeContentsLength: Disable is the way to opt a download
// out of compression, and such handlers serve files with http.ServeContent or
// http.ServeFile. Those skip Content-Length when they see a Content-Encoding,
// and Disable set "Content-Encoding: identity": a GET went out chunked and a
// HEAD gave no size at all. A 206 (and any response the middleware leaves
// alone by status) also carried the "identity" the middleware promises to
// remove, and a 304 a Vary its 200 did not have.
func TestDisableKeepsServeContentsLength(t *testing.T) {
	body := bytes.Repeat([]byte("<p>a large download</p>\n"), 2000)
	modTime := time.Unix(1e9, 0)
	srv := httptest.NewServer(compress.Middleware(compress.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		compress.Disable(w)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "download.html", modTime, bytes.NewReader(body))
	})))
	defer srv.Close()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	do := func(method, path string, kv ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Accept-Encoding", "gzip")
		for i := 0; i < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		return resp
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp := do(method, "/")
		assert.Equal(t, http.StatusOK, resp.StatusCode, method)
		assert.Equal(t, strconv.Itoa(len(body)), resp.Header.Get("Content-Length"), "%s: the length ServeContent knows", method)
		assert.Equal(t, int64(len(body)), resp.ContentLength, method)
		assert.Empty(t, resp.TransferEncoding, method)
		assert.NotContains(t, resp.Header, "Content-Encoding", method)
		assert.NotContains(t, resp.Header, "Vary", method)
	}
	resp := do(http.MethodGet, "/", "Range", "bytes=0-9")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.NotContains(t, resp.Header, "Content-Encoding", "206: identity is removed")
	resp = do(http.MethodGet, "/missing")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.NotContains(t, resp.Header, "Content-Encoding", "404: identity is removed")
	resp = do(http.MethodGet, "/", "If-Modified-Since", modTime.UTC().Format(http.TimeFormat))
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.NotContains(t, resp.Header, "Vary", "304: its 200 does not vary")
}

// TestDisableThenOwnCoding: a handler that opts out, then sends a body it
// encoded itself, gets its own coding sent alone.
func TestDisableThenOwnCoding(t *testing.T) {
	h := compress.Middleware(compress.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		compress.Disable(w)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write([]byte("pre-encoded"))
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(rec, req)
	assert.Equal(t, []string{"gzip"}, rec.Result().Header.Values("Content-Encoding"))
	assert.Equal(t, "pre-encoded", rec.Body.String())
}
