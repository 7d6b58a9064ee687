package compress_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// rawGet fetches url with Accept-Encoding set and the transport's own
// decompression off, so that the response is seen as sent.
func rawGet(t *testing.T, url, ae string) (*http.Response, []byte) {
	t.Helper()
	return roundTrip(t, http.MethodGet, url, http.Header{"Accept-Encoding": {ae}})
}

// TestNonCanonicalKeysAreSeen is issue 12.5 for compress: a handler's
// w.Header()["content-encoding"], ["cache-control"] or ["content-type"] is
// sent by net/http, but compress read only the canonical keys, so it
// encoded an encoded body twice or ignored no-transform.
func TestNonCanonicalKeysAreSeen(t *testing.T) {
	c := compress.Must(compress.Options{})
	// A gzip body over MinSize: of random bytes, which do not shrink.
	plain := make([]byte, 4096)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(plain)
	var gz bytes.Buffer
	zw := stdgzip.NewWriter(&gz)
	_, _ = zw.Write(plain)
	require.NoError(t, zw.Close())

	t.Run("content-encoding: not encoded twice", func(t *testing.T) {
		srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header()["content-encoding"] = []string{"gzip"}
			_, _ = w.Write(gz.Bytes())
		})))
		defer srv.Close()
		resp, body := rawGet(t, srv.URL, "br, gzip")
		assert.Equal(t, []string{"gzip"}, resp.Header["Content-Encoding"])
		assert.Equal(t, plain, decode(t, compress.Gzip, body))
	})
	for _, tt := range []struct{ key, value string }{
		{"cache-control", "no-transform"},
		{"CONTENT-TYPE", "image/png"},
	} {
		t.Run(tt.key+": "+tt.value, func(t *testing.T) {
			srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header()[tt.key] = []string{tt.value}
				_, _ = w.Write(big)
			})))
			defer srv.Close()
			resp, body := rawGet(t, srv.URL, "gzip")
			assert.Empty(t, resp.Header["Content-Encoding"])
			assert.Equal(t, string(big), string(body))
		})
	}
	t.Run("vary: merged with Accept-Encoding", func(t *testing.T) {
		rec := serve(t, c, func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["content-type"] = []string{"application/json"}
			w.Header()["vary"] = []string{"Origin"}
			_, _ = w.Write(big)
		}, get("gzip"))
		assert.Equal(t, http.Header{
			"Content-Type":     {"application/json"},
			"Content-Encoding": {"gzip"},
			"Content-Length":   rec.Header()["Content-Length"],
			"Vary":             {"Origin", "Accept-Encoding"},
		}, rec.Header())
	})
}
