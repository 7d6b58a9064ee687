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
// original share a Last-Modified, so a date If-Range cannot tell which of
// them the client holds part of. A SharedCache view in front of
// compress.FileServer stores both variants (Vary: Accept-Encoding); a
// client resuming with a date If-Range and another Accept-Encoding than the
// first request's (browsers send identity on a range) got a 206 of the
// other variant's bytes, appended to what it held: a corrupt file. Where
// the stored response varies by encoding, only an entity-tag If-Range may
// get a range; a date one gets the whole response.
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
	for _, tc := range []struct{ first, resume, wantCE string }{
		{"gzip", "identity", ""},     // held gzip bytes, resumes as a browser does
		{"identity", "gzip", "gzip"}, // held the original, resumes accepting gzip
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
			assert.Equal(t, http.StatusOK, w.Code, "a range of the %s variant for a client holding the %s one (Content-Range %q)",
				tc.resume, tc.first, w.Header().Get("Content-Range"))
			assert.Equal(t, tc.wantCE, w.Header().Get("Content-Encoding"))
			// Without If-Range a range is still served (a pre-compressed
			// variant's bytes are the same on every run).
			w = rangeProbe(view, "/catalog.json", "Accept-Encoding", tc.resume, "Range", "bytes=10-")
			assert.Equal(t, http.StatusPartialContent, w.Code)
		})
	}
}
