package caching

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSharedCacheDeadRefreshRedirectKeepsRecord: a blind run (RefreshIf
// fired by the client's own reload) whose dead answer is a redirect or a 404
// without Vary, for a language the page lacks, deleted the page's Vary
// record (a lookup's run had the guard; a blind one did not). A blind run
// now keeps a record under a response that is not a 2xx.
func TestSharedCacheDeadRefreshRedirectKeepsRecord(t *testing.T) {
	for _, status := range []int{http.StatusFound, http.StatusNotFound} {
		forEachViewStore(t, func(t *testing.T, k storeKind) {
			e := newViewEnv(t, k)
			h := languagePage("Accept-Language", "", status)
			ch := e.sharedView(h, onReload())
			assert.Equal(t, "b #1", get(ch, "/a", "Accept-Language", "de").Body.String())
			assert.Equal(t, "b #2", get(ch, "/a", "Accept-Language", "en").Body.String())
			assert.Equal(t, status, get(ch, "/a", "Accept-Language", "xx", "Cache-Control", "no-cache").Code)
			w := get(ch, "/a", "Accept-Language", "de")
			assert.Equal(t, "b #1", w.Body.String(), "status %d reload for another language dropped de (X-Cache %s)", status, w.Header().Get("X-Cache"))
		})
	}
}
