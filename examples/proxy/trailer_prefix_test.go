package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnannouncedTrailersReachClients: an origin's trailer set with
// http.TrailerPrefix once the body is written, in a response it sends
// chunked (it flushed, or the body is over net/http's 2 KiB buffer), reaches
// the client through the proxy, on the miss and on every read after it:
// the cache stores no response with trailers (it could not send them back),
// so each read is passed to the origin. (An origin on net/http that sets
// one after a small body it never flushed sends none: net/http sends that
// body with a Content-Length, and drops the trailer.)
func TestUnannouncedTrailersReachClients(t *testing.T) {
	for name, write := range map[string]func(w http.ResponseWriter){
		"flushed": func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, "body")
			_ = http.NewResponseController(w).Flush()
		},
		"large": func(w http.ResponseWriter) { _, _ = io.WriteString(w, strings.Repeat("b", 8<<10)) },
	} {
		t.Run(name, func(t *testing.T) {
			front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				write(w)
				w.Header().Set(http.TrailerPrefix+"X-Checksum", "v")
			}), nil)
			for i, want := range []string{"MISS", "MISS"} {
				res, body := send(t, http.MethodGet, front.URL+"/t")
				require.NotEmpty(t, body)
				assert.Equal(t, want, res.Header.Get(statusHeader), "read %d", i)
				assert.Equal(t, "v", res.Trailer.Get("X-Checksum"), "read %d: the origin's trailer", i)
			}
		})
	}
}
