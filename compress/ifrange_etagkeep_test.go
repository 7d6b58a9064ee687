package compress_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestIfRangeETagKeepStrongTagOfEncodedGetsWholeBody: under ETagKeep the
// handler varies its ETag with Accept-Encoding (ETagKeep's contract) but
// compress still encodes what it writes. A resume with Range and the
// strong tag the gzip 200 carried reached the handler, whose
// http.ServeContent matched the tag and answered a 206 of its unencoded
// bytes, passed through with no Content-Encoding under the gzip tag: the
// client appended decoded bytes to gzip bytes. Now the whole gzip body is
// sent, as for any If-Range under ETagKeep from a client that accepts an
// encoding.
func TestIfRangeETagKeepStrongTagOfEncodedGetsWholeBody(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("abcdefghij"), 10000)
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	h := compress.Must(compress.Options{ETag: compress.ETagKeep}).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tag := `"v1"`
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				tag = `"v1-gzip"` // varies its ETag with Accept-Encoding
			}
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Vary", "Accept-Encoding")
			w.Header().Set("ETag", tag)
			http.ServeContent(w, r, "", mod, bytes.NewReader(body))
		}))
	first := serveFile(h, "/data.txt", "Accept-Encoding", "gzip")
	require.Equal(t, http.StatusOK, first.Code)
	require.Equal(t, "gzip", first.Header().Get("Content-Encoding"))
	require.Equal(t, `"v1-gzip"`, first.Header().Get("ETag"))

	w := serveFile(h, "/data.txt", "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", `"v1-gzip"`)
	require.Equal(t, http.StatusOK, w.Code, "a range under the gzip tag: Content-Range %q, Content-Encoding %q",
		w.Header().Get("Content-Range"), w.Header().Get("Content-Encoding"))
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	assert.Equal(t, `"v1-gzip"`, w.Header().Get("ETag"))
	assert.Equal(t, body, decode(t, "gzip", w.Body.Bytes()))
}
