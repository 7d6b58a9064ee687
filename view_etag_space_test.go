package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCachedETagWithSpaceRevalidates: a handler's ETag with white space
// around it (a hash read from a file, with its newline) is sent trimmed by
// net/http, and clients send it back as they got it. A stored response
// compared the untrimmed value, so no conditional request ever matched a
// hit: every revalidation got the whole body. Now a hit answers 304, in
// both modes.
func TestCachedETagWithSpaceRevalidates(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, etag := range []string{"\"v1\"\n", " \"v1\"", "\t\"v1\" ", "W/\"v1\"\r\n"} {
			c := Must(nil)
			t.Cleanup(func() { _ = c.Close() })
			var opts []ViewOption
			if shared {
				opts = append(opts, SharedCache())
			}
			h := c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("ETag", etag)
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = w.Write([]byte("body"))
			}))
			srv := httptest.NewServer(h)
			get := func(inm string) *http.Response {
				req, err := http.NewRequest(http.MethodGet, srv.URL+"/p", nil)
				require.NoError(t, err)
				if inm != "" {
					req.Header.Set("If-None-Match", inm)
				}
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				return resp
			}
			first := get("") // stored
			sent := first.Header.Get("ETag")
			require.NotEmpty(t, sent)
			resp := get(sent)
			assert.Equal(t, http.StatusNotModified, resp.StatusCode, "shared=%v, ETag %q: a hit revalidated with the ETag it was sent (%q)", shared, etag, sent)
			srv.Close()
		}
	}
}
