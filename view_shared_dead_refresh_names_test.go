package caching

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSharedCacheDeadRefreshOtherNamesKeepsRecord: as
// TestSharedCacheDeadRefreshRedirectKeepsRecord, but the redirect (or 404)
// carries a Vary whose names differ from the record's: the page's 200s
// vary on Accept-Language and Accept-Encoding (the compress middleware adds
// Accept-Encoding to a compressible 2xx only, never to a redirect), or a
// CORS layer adds Origin for a request with Origin. The blind run deleted
// base when the names differed, whatever the status: one reload emptied
// every variant for everyone. It now deletes a record of other names only
// where this client's own variant under them is stored.
func TestSharedCacheDeadRefreshOtherNamesKeepsRecord(t *testing.T) {
	cases := []struct {
		name, okVary, deadVary string
		extra                  []string
	}{
		{"compress", "Accept-Language, Accept-Encoding", "Accept-Language", nil},
		{"cors", "Accept-Language", "Accept-Language, Origin", []string{"Origin", "https://x.example"}},
	}
	for _, c := range cases {
		for _, status := range []int{http.StatusFound, http.StatusNotFound} {
			t.Run(c.name, func(t *testing.T) {
				forEachViewStore(t, func(t *testing.T, k storeKind) {
					e := newViewEnv(t, k)
					h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
						switch r.Header.Get("Accept-Language") {
						case "de", "en":
							w.Header().Set("Vary", c.okVary)
							w.Header().Set("Cache-Control", "max-age=600")
						default:
							w.Header().Set("Vary", c.deadVary)
							w.Header().Set("Cache-Control", "no-cache")
							w.Header().Set("Location", "/en/a")
							w.WriteHeader(status)
						}
					}}
					ch := e.sharedView(h, RefreshIf(func(_ context.Context, r *http.Request) bool {
						return r.Header.Get("Cache-Control") == "no-cache"
					}))
					assert.Equal(t, "b #1", get(ch, "/a", "Accept-Language", "de").Body.String())
					assert.Equal(t, "b #2", get(ch, "/a", "Accept-Language", "en").Body.String())
					assert.Equal(t, "HIT", get(ch, "/a", "Accept-Language", "de").Header().Get("X-Cache"))
					args := append([]string{"Accept-Language", "xx", "Cache-Control", "no-cache"}, c.extra...)
					assert.Equal(t, status, get(ch, "/a", args...).Code)
					w := get(ch, "/a", "Accept-Language", "de")
					assert.Equal(t, "b #1", w.Body.String(), "status %d reload (Vary %q) for another language dropped de (X-Cache %s)", status, c.deadVary, w.Header().Get("X-Cache"))
				})
			})
		}
	}
}
