package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// Test304NamesTheVariantTheHandlerMatched: a cache that holds several
// variants sends all their ETags in If-None-Match (RFC 9111 section 4.3.1).
// The 304 must name the one the handler matched: it used to name the
// encoded variant of whichever suffixed (or weak) tag was rewritten, a
// representation the client does not have, when the handler matched
// another tag of the list.
func Test304NamesTheVariantTheHandlerMatched(t *testing.T) {
	serveB := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("ETag", `"b"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(bigString))
	}
	for _, tc := range []struct {
		name string
		mode compress.ETagMode
		ae   string
		inm  string
		etag string // of the 304
	}{
		// Stale gzip variant "a" and current identity variant "b".
		{"suffix: identity matched", compress.ETagSuffix, "gzip", `"a:gzip", "b"`, `"b"`},
		// Stale gzip variant "a" and current streamed (deflate) variant "b".
		{"suffix: streamed variant matched", compress.ETagSuffix, "gzip, deflate", `"a:gzip", "b:deflate"`, `"b:deflate"`},
		{"suffix: encoded variant matched", compress.ETagSuffix, "gzip", `"a", "b:gzip"`, `"b:gzip"`},
		{"weaken: identity matched", compress.ETagWeaken, "gzip", `W/"a", "b"`, `"b"`},
		{"weaken: encoded variant matched", compress.ETagWeaken, "gzip", `"a", W/"b"`, `W/"b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compress.Must(compress.Options{ETag: tc.mode})
			srv := httptest.NewServer(c.Handler(http.HandlerFunc(serveB)))
			defer srv.Close()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", tc.ae)
			req.Header.Set("If-None-Match", tc.inm)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusNotModified, resp.StatusCode)
			assert.Equal(t, tc.etag, resp.Header.Get("ETag"), "the 304 names a representation the client has")
			assert.Equal(t, []string{"Accept-Encoding"}, resp.Header.Values("Vary"))
		})
	}
}
