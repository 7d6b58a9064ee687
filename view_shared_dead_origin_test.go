package caching

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSharedCacheDeadOriginVariantKeepsRecord: a CORS layer adds Origin to
// Vary only for a request with Origin, and the fr page is not to be reused
// (no-cache, no validator: dead). One request for fr with an Origin of the
// client's choice, a variant nothing was stored for, is a 2xx whose names
// differ from the record's: it deleted the record, de out of reach for
// everyone. An answer for a variant nothing was stored for now takes no
// other client's variant away.
func TestSharedCacheDeadOriginVariantKeepsRecord(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			if r.Header.Get("Origin") != "" {
				w.Header().Add("Vary", "Origin")
				w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			}
			if r.Header.Get("Accept-Language") == "de" {
				w.Header().Set("Cache-Control", "max-age=600")
				return
			}
			w.Header().Set("Cache-Control", "no-cache")
		}}
		ch := e.sharedView(h)
		assert.Equal(t, "b #1", get(ch, "/a", "Accept-Language", "de").Body.String())
		assert.Equal(t, "HIT", get(ch, "/a", "Accept-Language", "de").Header().Get("X-Cache"))
		get(ch, "/a", "Accept-Language", "fr", "Origin", "https://x.example")
		w := get(ch, "/a", "Accept-Language", "de")
		assert.Equal(t, "b #1", w.Body.String(), "a dead fr response with Origin dropped de for everyone (X-Cache %s)", w.Header().Get("X-Cache"))
	})
}
