package caching

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestOverlongCopyBetween512And1024: a handler that declares a
// Content-Length between 512 and 1023 and io.Copies a longer body from a
// plain reader gets, through the cache, what it gets from net/http alone.
// The Recorder copies the first 512 bytes through Write itself, then
// hands the rest to net/http's ReadFrom, which copies another 512 through
// Write (its header is not on the wire yet) and so passes the length.
func TestOverlongCopyBetween512And1024(t *testing.T) {
	for _, declared := range []int{600, 1000} {
		ow := overlongWrite{"io.Copy from a reader", declared, func(w http.ResponseWriter) error {
			_, err := io.Copy(w, onlyReader{bytes.NewReader(overlongBody)})
			return err
		}}
		for _, m := range []struct {
			name, cc string
			opts     []ViewOption
		}{{"default", "", nil}, {"no-store passes through", "no-store", nil}, {"SharedCache", "max-age=60", []ViewOption{SharedCache()}}} {
			t.Run(m.name, func(t *testing.T) {
				errs := make(chan error, 1)
				h := overlongHandler(ow, m.cc, errs)
				bare := httptest.NewServer(h)
				defer bare.Close()
				want, _ := overlongFetch(t, bare, "/doc", "", errs)
				c := Must(nil)
				defer c.Close()
				srv := httptest.NewServer(c.Cached(time.Hour, append([]ViewOption{CacheStatusHeader("X-Cache")}, m.opts...)...)(h))
				defer srv.Close()
				got, _ := overlongFetch(t, srv, "/doc", "", errs)
				assert.Equal(t, want.clientSide(), got.clientSide(), "declared %d: what the client read without the cache and with it", declared)
			})
		}
	}
}
