package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
					h := languagePage(c.okVary, c.deadVary, status)
					ch := e.sharedView(h, onReload())
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

// TestSharedCacheDeadRefreshUnlistedVariantKeepsRecord: a blind run deletes
// a record of other names only over the client's own variant, one the
// record lists. A variant left in the store by a record deleted since (the
// key ViewKey gives) is not the client's entry: a lookup would not find it,
// and the record the other clients are served stays.
func TestSharedCacheDeadRefreshUnlistedVariantKeepsRecord(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Cache-Control") == "no-cache" {
				w.Header().Set("Vary", "Accept-Language, Origin") // a CORS layer's, dead
				w.Header().Set("Cache-Control", "no-cache")
				return
			}
			w.Header().Set("Vary", "Accept-Language")
			w.Header().Set("Cache-Control", "max-age=600")
		}}
		ch := e.sharedView(h, onReload())
		assert.Equal(t, "b #1", get(ch, "/a", "Accept-Language", "de").Body.String())
		// The record is deleted (de's entry stays, unlisted), and en's
		// request writes a new one.
		key, err := e.c.ViewKey(httptest.NewRequest(http.MethodGet, "/a", nil), SharedCache())
		require.NoError(t, err)
		require.NoError(t, e.c.Backend().Delete(context.Background(), key))
		assert.Equal(t, "b #2", get(ch, "/a", "Accept-Language", "en").Body.String())
		assert.Equal(t, "b #2", get(ch, "/a", "Accept-Language", "en").Body.String())
		// de reloads: dead, with other names; its old entry is unlisted.
		get(ch, "/a", "Accept-Language", "de", "Cache-Control", "no-cache", "Origin", "https://x.example")
		w := get(ch, "/a", "Accept-Language", "en")
		assert.Equal(t, "b #2", w.Body.String(), "a reload over an unlisted variant dropped en (X-Cache %s)", w.Header().Get("X-Cache"))
	})
}
