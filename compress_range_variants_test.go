package caching

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/compress"
)

// TestSharedCacheDateIfRangeAcrossEncodings: a pre-compressed file and its
// original share a Last-Modified, so a date If-Range cannot tell the gzip
// bytes from the decoded content a client may hold. A SharedCache view in
// front of compress.FileServer stores both variants (Vary: Accept-Encoding);
// a client resuming with a date If-Range and gzip accepted got a 206 of the
// stored gzip bytes, which a client holding decoded content (curl
// --compressed) appends to it: a corrupt file. A range is of the
// representation selected for the request: an encoded one on a date gets
// the whole response; the unencoded one keeps its range (a browser resumes
// with identity, holding what it decoded).
func TestSharedCacheDateIfRangeAcrossEncodings(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, catalogJSON)
	_ = zw.Close()
	mod := time.Now().Add(-time.Hour).Truncate(time.Second)
	fsys := fstest.MapFS{
		"catalog.json":    {Data: []byte(catalogJSON), ModTime: mod},
		"catalog.json.gz": {Data: gz.Bytes(), ModTime: mod},
	}
	since := mod.UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		first, resume, wantCE string
		wantStatus            int
	}{
		{"gzip", "identity", "", http.StatusPartialContent}, // a browser: held what it decoded
		{"identity", "gzip", "gzip", http.StatusOK},         // held the original, resumes accepting gzip
	} {
		t.Run(tc.first+"-then-"+tc.resume, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			view := c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(compress.Must(compress.Options{}).FileServer(fsys))
			// Both variants stored, as clients of each kind come.
			for _, ae := range []string{"gzip", "identity"} {
				w := rangeProbe(view, "/catalog.json", "Accept-Encoding", ae)
				assert.Equal(t, http.StatusOK, w.Code)
			}
			for _, ae := range []string{"gzip", "identity"} {
				w := rangeProbe(view, "/catalog.json", "Accept-Encoding", ae)
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the %s variant is stored", ae)
			}
			w := rangeProbe(view, "/catalog.json", "Accept-Encoding", tc.resume, "Range", "bytes=10-", "If-Range", since)
			assert.Equal(t, tc.wantStatus, w.Code, "a resume with %s after %s (Content-Range %q)",
				tc.resume, tc.first, w.Header().Get("Content-Range"))
			assert.Equal(t, tc.wantCE, w.Header().Get("Content-Encoding"))
			// Without If-Range a range is still served (a pre-compressed
			// variant's bytes are the same on every run).
			w = rangeProbe(view, "/catalog.json", "Accept-Encoding", tc.resume, "Range", "bytes=10-")
			assert.Equal(t, http.StatusPartialContent, w.Code)
		})
	}
}
