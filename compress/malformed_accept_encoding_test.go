package compress_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/compress"
)

// TestMalformedAcceptEncodingElementRefusesItsCoding: an Accept-Encoding
// element whose weight does not parse (RFC 9110 section 12.4.2: "0" or "1"
// with at most three decimals, nothing above 1) or that has a parameter
// other than q was ignored, so a "*" after it granted the very coding the
// client tried to weigh: "gzip;q=0;x=1, *" got gzip. A coding named by a
// malformed element is now refused, whatever else the header says; the
// other codings are negotiated as before.
func TestMalformedAcceptEncodingElementRefusesItsCoding(t *testing.T) {
	c := compress.Must(compress.Options{Algorithms: []string{compress.Gzip, compress.Brotli}})
	srv := httptest.NewServer(c.Handler(writeJSON(big)))
	defer srv.Close()
	for _, tc := range []struct {
		ae   string
		want string // the coding sent, "" for none
	}{
		{"gzip;q=0;x=1, *", "br"},
		{"gzip;q=0.0001, *", "br"},
		{"gzip;q=abc, *", "br"},
		{"gzip;q=1.5, *", "br"},
		{"gzip;q=, *", "br"},
		{"gzip;level=9, *", "br"},
		{"gzip q=0, *", "br"},
		{"x-gzip;q=-1, *", "br"},
		{"*, gzip;q=0.0001", "br"},
		{"gzip, gzip;q=abc", ""},
		{"gzip;q=abc, br;q=0.0001, *", ""},
		{"*;q=abc, gzip", "gzip"},
		{"*;q=abc", ""},
		{"identity;q=abc, gzip", "gzip"},
		{"gzip;q=abc, br", "br"},
	} {
		t.Run(tc.ae, func(t *testing.T) {
			res, body := roundTrip(t, http.MethodGet, srv.URL+"/", http.Header{"Accept-Encoding": {tc.ae}})
			ce := res.Header.Get("Content-Encoding")
			assert.Equal(t, tc.want, ce)
			assert.Equal(t, big, decode(t, ce, body))
			assert.True(t, strings.EqualFold(res.Header.Get("Vary"), "Accept-Encoding"))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Accept-Encoding", tc.ae)
			assert.Equal(t, tc.want, c.Negotiate(req), "Negotiate agrees")
		})
	}
}
