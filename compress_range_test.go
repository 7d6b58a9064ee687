package caching

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// rangeProbe is a request for path with Accept-Encoding: gzip and the
// header fields kv (name, value pairs).
func rangeProbe(h http.Handler, path string, kv ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Accept-Encoding", "gzip")
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestSharedCacheRangeOfCompressed: with SharedCache, a Range request that
// a stored gzip response answers. Compress encodes on the fly: its bytes are
// not the same on every run, it drops Accept-Ranges and never answers a
// range itself, and its ETag is weak (or names the encoding). Cached around
// compress used to answer the Range with a 206 of the stored gzip bytes
// (under W/"v1", or no validator at all) and Accept-Ranges: bytes, which a
// client resuming a download (curl -C -, wget -c) appends to bytes of
// another run. It now sends the whole stored response, as compress itself
// does. Compress around Cached answers the range from the stored unencoded
// response, unencoded, under the handler's own strong ETag, which never
// matches the encoded variant's: that order was already sound.
func TestSharedCacheRangeOfCompressed(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	for _, tc := range []struct {
		name, etag, sent string // the handler's ETag, and the encoded variant's
		mode             compress.ETagMode
	}{
		{"weakened", `"v1"`, `W/"v1"`, compress.ETagWeaken},
		{"suffixed", `"v1"`, `"v1:gzip"`, compress.ETagSuffix},
		{"untagged", "", "", compress.ETagWeaken},
	} {
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "max-age=60")
			if tc.etag != "" {
				w.Header().Set("ETag", tc.etag)
			}
			_, _ = io.WriteString(w, catalogJSON)
		})
		mw := compress.Middleware(compress.Options{ETag: tc.mode})
		view := c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))

		t.Run(tc.name+"/Cached(compress)", func(t *testing.T) {
			ch := view(mw(h))
			path := "/a/" + tc.name
			require.Equal(t, "MISS", rangeProbe(ch, path).Header().Get("X-Cache"))
			ranges := [][]string{{"Range", "bytes=0-9"}, {"Range", "bytes=0-9,20-29"}, {"Range", "bytes=5000-"}}
			if tc.sent != "" {
				ranges = append(ranges, []string{"Range", "bytes=10-", "If-Range", tc.sent})
			}
			for _, kv := range ranges {
				w := rangeProbe(ch, path, kv...)
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), kv)
				assert.Equal(t, http.StatusOK, w.Code, "%v: the whole encoded response", kv)
				assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), kv)
				assert.Empty(t, w.Header().Get("Content-Range"), kv)
				assert.Empty(t, w.Header().Get("Accept-Ranges"), "%v: compress dropped it; a hit must not add it back", kv)
				assert.Equal(t, tc.sent, w.Header().Get("ETag"), kv)
				assert.Equal(t, catalogJSON, decodeBody(t, w), kv)
			}
		})

		t.Run(tc.name+"/compress(Cached)", func(t *testing.T) {
			ch := mw(view(h))
			path := "/b/" + tc.name
			require.Equal(t, "gzip", rangeProbe(ch, path).Header().Get("Content-Encoding"))
			w := rangeProbe(ch, path, "Range", "bytes=0-9")
			assert.Equal(t, http.StatusPartialContent, w.Code, "a range of the stored unencoded response")
			assert.Empty(t, w.Header().Get("Content-Encoding"))
			assert.Equal(t, catalogJSON[:10], w.Body.String())
			assert.Equal(t, tc.etag, w.Header().Get("ETag"), "the unencoded representation's validator")
			if tc.sent != "" {
				w = rangeProbe(ch, path, "Range", "bytes=10-", "If-Range", tc.sent)
				assert.Equal(t, http.StatusOK, w.Code, "If-Range naming the encoded variant: the whole response")
				assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
				assert.Equal(t, catalogJSON, decodeBody(t, w))
			}
		})
	}
}

// TestSharedCacheRangeOfPrecompressed: a stored encoded response whose
// origin answers ranges of it (Accept-Ranges: bytes) under a strong
// validator, here a pre-compressed file's Last-Modified, still has its
// ranges answered on a hit: its bytes are the file's.
func TestSharedCacheRangeOfPrecompressed(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, catalogJSON)
	require.NoError(t, zw.Close())
	mod := time.Now().Add(-time.Hour)
	fsys := fstest.MapFS{
		"catalog.json":    {Data: []byte(catalogJSON), ModTime: mod},
		"catalog.json.gz": {Data: gz.Bytes(), ModTime: mod},
	}
	cmp, err := compress.New(compress.Options{})
	require.NoError(t, err)
	ch := c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(cmp.FileServer(fsys))
	require.Equal(t, "MISS", rangeProbe(ch, "/catalog.json").Header().Get("X-Cache"))
	w := rangeProbe(ch, "/catalog.json", "Range", "bytes=0-9")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, http.StatusPartialContent, w.Code)
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	assert.Equal(t, gz.Bytes()[:10], w.Body.Bytes())
	assert.Equal(t, "bytes", w.Header().Get("Accept-Ranges"))
}
