package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestFileServerSendsLengthOfPrecompressed: http.ServeContent leaves out
// Content-Length whenever the response has a Content-Encoding, and
// FileServer set one (gzip) for a precompressed sibling before calling it:
// every app.js.gz went out chunked, with no size for a download's progress,
// and a HEAD gave no size at all. Through a real server, as a client sees.
func TestFileServerSendsLengthOfPrecompressed(t *testing.T) {
	// Lines that do not repeat: the gzip file is larger than the 2 KiB
	// net/http would measure itself.
	var js []byte
	for i := range 4000 {
		js = strconv.AppendInt(append(js, "var v"...), int64(i*7919%100003), 10)
		js = append(js, ";\n"...)
	}
	gz := encodeAll(t, compress.Gzip, js)
	old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	fsys := fstest.MapFS{
		"app.js":    {Data: js, ModTime: old},
		"app.js.gz": {Data: gz, ModTime: old},
	}
	srv := httptest.NewServer(compress.Must(compress.Options{}).FileServer(fsys))
	defer srv.Close()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, err := http.NewRequest(method, srv.URL+"/app.js", nil)
		require.NoError(t, err)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), method)
		assert.Equal(t, strconv.Itoa(len(gz)), resp.Header.Get("Content-Length"), "%s: the precompressed file's size", method)
		assert.Empty(t, resp.TransferEncoding, method)
		if method == http.MethodGet {
			assert.Equal(t, gz, body)
		}
	}

	// A range of the encoded file keeps ServeContent's own length, and a
	// 304 has none.
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/app.js", nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Range", "bytes=0-9")
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "10", resp.Header.Get("Content-Length"))
	req.Header.Del("Range")
	req.Header.Set("If-Modified-Since", old.Add(time.Hour).Format(http.TimeFormat))
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Content-Length"))
}
