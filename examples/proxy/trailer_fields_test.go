package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOwnFieldsDroppedFromTrailers: the proxy dropped its own fields
// (X-Proxy-Anonymous, X-Proxy-Cache-Control) from an origin's header but
// not from its trailers, announced or not, which reached clients as the
// origin sent them. They go now as the header's do; the origin's other
// announced trailers pass.
func TestOwnFieldsDroppedFromTrailers(t *testing.T) {
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("announced") {
			w.Header().Set("Trailer", "X-Proxy-Anonymous, X-Checksum")
			w.Header().Add("Trailer", defaultField)
		}
		_, _ = io.WriteString(w, "body")
		for _, name := range []string{anonymousField, defaultField, "X-Checksum"} {
			if !r.URL.Query().Has("announced") {
				name = http.TrailerPrefix + name
			}
			w.Header().Set(name, "1")
		}
	}), nil, "-default-ttl", "1m")
	for _, query := range []string{"?announced", "?unannounced"} {
		res, body := send(t, http.MethodGet, front.URL+"/stream"+query)
		require.Equal(t, "body", body)
		for _, name := range []string{anonymousField, defaultField} {
			assert.NotContains(t, res.Trailer, name, "%s: the proxy's own trailer reached the client", query)
		}
		if query == "?announced" {
			assert.Equal(t, "1", res.Trailer.Get("X-Checksum"), query)
		}
	}
}
