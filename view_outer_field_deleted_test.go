package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestHandlerDeletionOfOuterFieldKeptOnHit: a security-headers middleware
// outside the view sets X-Frame-Options: DENY on every response before the
// handler runs; the handler of an embeddable page deletes it. The miss's
// client gets the page without X-Frame-Options, as the handler made it; a
// hit must too, from the in-process store and from a remote one (the
// deletion is part of the stored entry), in the default mode and with
// SharedCache. The view leaves the outer fields out of the entry (they
// equal what the outer middleware set), and did not remember that the
// handler deleted one: every hit carried X-Frame-Options: DENY, a response
// the handler never made (the embedded widget broke after the first
// request). An outer field the handler kept is still served.
func TestHandlerDeletionOfOuterFieldKeptOnHit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remote bool
		opts   []ViewOption
	}{
		{"in-process", false, nil},
		{"remote", true, nil},
		{"in-process/SharedCache", false, []ViewOption{SharedCache()}},
		{"remote/SharedCache", true, []ViewOption{SharedCache()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *Cache
			if tc.remote {
				c = Must(&Options{Backend: nopClose{&remote{Backend: newSimple(t, nil)}}})
			} else {
				c = Must(nil)
			}
			t.Cleanup(func() { _ = c.Close() })
			opts := append([]ViewOption{CacheStatusHeader("X-Cache")}, tc.opts...)
			view := c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Del("X-Frame-Options") // this page may be framed
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Cache-Control", "public, max-age=60")
				_, _ = w.Write([]byte("<p>widget</p>"))
			}))
			secure := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Frame-Options", "DENY")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				view.ServeHTTP(w, r)
			})
			for i, want := range []string{"MISS", "HIT", "HIT"} {
				rec := httptest.NewRecorder()
				secure.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/embed", nil))
				assert.Equal(t, want, rec.Header().Get("X-Cache"), "request %d", i)
				assert.Empty(t, rec.Header().Values("X-Frame-Options"), "request %d (%s): the handler deleted X-Frame-Options", i, want)
				assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), "request %d (%s): an outer field the handler kept", i, want)
				assert.Equal(t, "<p>widget</p>", rec.Body.String(), "request %d", i)
			}
		})
	}
}
