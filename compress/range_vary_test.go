package compress_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestPartialContentVariesAsItsWhole: a 206 of a body the middleware
// encodes went out without "Vary: Accept-Encoding", which its 200 has: a
// cache that stores the part under the URL alone combines it with the
// encoded 200 of another client's request, or answers a client's range
// from it. A 206 carries the Vary its 200 would have had (RFC 9110 section
// 15.3.7); none where the 200 does not vary (a type never encoded,
// no-transform, Disable).
func TestPartialContentVariesAsItsWhole(t *testing.T) {
	body := bytes.Repeat([]byte(`{"id":1,"name":"desk lamp"},`), 200)
	for _, tc := range []struct {
		name, file string
		header     http.Header
		vary       bool
	}{
		{name: "json", file: "/catalog.json", vary: true},
		{name: "sniffed type", file: "/catalog", vary: true},
		{name: "type never encoded", file: "/photo.png", header: http.Header{"Content-Type": {"image/png"}}},
		{name: "no-transform", file: "/catalog.json", header: http.Header{"Cache-Control": {"no-transform"}}},
		{name: "Disable", file: "/catalog.json", header: http.Header{"content-encoding": {"identity"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, vs := range tc.header {
					w.Header()[k] = vs
				}
				http.ServeContent(w, r, tc.file, time.Time{}, bytes.NewReader(body))
			})))
			defer srv.Close()
			whole, _ := roundTrip(t, http.MethodGet, srv.URL+tc.file, http.Header{"Accept-Encoding": {"gzip"}})
			require.Equal(t, http.StatusOK, whole.StatusCode)
			part, got := roundTrip(t, http.MethodGet, srv.URL+tc.file, http.Header{"Accept-Encoding": {"gzip"}, "Range": {"bytes=10-99"}})
			require.Equal(t, http.StatusPartialContent, part.StatusCode)
			assert.Equal(t, body[10:100], got, "the range of the unencoded bytes")
			assert.Empty(t, part.Header["Content-Encoding"])
			if tc.vary {
				assert.Equal(t, []string{"Accept-Encoding"}, whole.Header["Vary"], "the 200")
				assert.Equal(t, whole.Header["Vary"], part.Header["Vary"], "the 206 varies as its 200")
			} else {
				assert.Empty(t, whole.Header["Vary"], "the 200")
				assert.Empty(t, part.Header["Vary"], "the 206")
			}
		})
	}
}
