package caching

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSharedCacheDeadRefreshVariantKeepsOtherVariants: a page varies on
// Accept-Language; de is stored for 10 minutes. RefreshIf fires on a
// client's "Cache-Control: no-cache" (a reload). A client reloads with a
// language whose page is not to be reused (Vary: Accept-Language,
// no-cache, no validator: dead on arrival). Writing that response would
// have added fr to the Vary record, the de variant left as it was; the
// blind run deleted base, the record, unread: de was out of reach for
// everyone, and one reload per page emptied the cache. A blind run reads
// base first, and keeps a record of the same names.
func TestSharedCacheDeadRefreshVariantKeepsOtherVariants(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			if r.Header.Get("Accept-Language") == "de" {
				w.Header().Set("Cache-Control", "max-age=600")
				return
			}
			w.Header().Set("Cache-Control", "no-cache")
		}}
		ch := e.sharedView(h, onReload())
		assert.Equal(t, "b #1", get(ch, "/a", "Accept-Language", "de").Body.String())
		assert.Equal(t, "HIT", get(ch, "/a", "Accept-Language", "de").Header().Get("X-Cache"))
		get(ch, "/a", "Accept-Language", "fr", "Cache-Control", "no-cache")
		w := get(ch, "/a", "Accept-Language", "de")
		assert.Equal(t, "b #1", w.Body.String(), "a dead fr reload dropped de for everyone (X-Cache %s)", w.Header().Get("X-Cache"))
	})
}

// TestSharedCacheDeadRedirectForOneClientDropsNothing: as
// TestSharedCacheDeadErrorForOneClientDropsNothing, with the answers
// deadMayDrop still lets through: a page that varies on Accept-Language
// (de, en stored for 10 minutes) answers a language it lacks with a
// redirect to its default-language URL, or a 404, with no-cache and no
// Vary. One request with "Accept-Language: xx" deleted the Vary record:
// every variant out of reach for everyone, and repeated, the origin took
// every request. A dead response that is not a 2xx, for a variant nothing
// was stored for, deletes nothing.
func TestSharedCacheDeadRedirectForOneClientDropsNothing(t *testing.T) {
	for _, status := range []int{http.StatusFound, http.StatusNotFound} {
		forEachViewStore(t, func(t *testing.T, k storeKind) {
			e := newViewEnv(t, k)
			h := languagePage("Accept-Language", "", status)
			ch := e.sharedView(h)
			assert.Equal(t, "b #1", get(ch, "/a", "Accept-Language", "de").Body.String())
			assert.Equal(t, "b #2", get(ch, "/a", "Accept-Language", "en").Body.String())
			assert.Equal(t, status, get(ch, "/a", "Accept-Language", "xx").Code)
			w := get(ch, "/a", "Accept-Language", "de")
			assert.Equal(t, "b #1", w.Body.String(), "status %d for another client's language dropped de (X-Cache %s)", status, w.Header().Get("X-Cache"))
		})
	}
}
