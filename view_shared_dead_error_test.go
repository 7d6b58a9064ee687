package caching

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSharedCacheDeadErrorForOneClientDropsNothing: a page varies on
// Accept-Language; de and en are stored for 10 minutes. A client asking for
// a language the handler refuses (406, a rate limiter's 429, a 503 while the
// origin struggles) gets an error page without Vary, with no-cache and no
// validator: dead on arrival. Its run deleted the Vary record under the base
// key, every variant out of reach: one request with "Accept-Language: xx"
// emptied the page's cache for everyone. A dead response drops what it
// supersedes only where a refused one may drop what it replaces: a status
// of the resource's, from a request that is not one user's.
func TestSharedCacheDeadErrorForOneClientDropsNothing(t *testing.T) {
	for _, status := range []int{http.StatusNotAcceptable, http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		forEachViewStore(t, func(t *testing.T, k storeKind) {
			e := newViewEnv(t, k)
			h := languagePage("Accept-Language", "", status)
			ch := e.sharedView(h)
			assert.Equal(t, "b #1", get(ch, "/a", "Accept-Language", "de").Body.String())
			assert.Equal(t, "b #2", get(ch, "/a", "Accept-Language", "en").Body.String())
			w := get(ch, "/a", "Accept-Language", "xx")
			assert.Equal(t, status, w.Code)
			w = get(ch, "/a", "Accept-Language", "de")
			assert.Equal(t, "b #1", w.Body.String(), "status %d for another client's language dropped de (X-Cache %s)", status, w.Header().Get("X-Cache"))
		})
	}
}

// languagePage is a page stored for de and en (Vary: okVary, 10 minutes)
// that answers any other language with status, no-cache and no validator:
// dead on arrival (with Vary: deadVary when given, and a Location for a
// redirect to the default language).
func languagePage(okVary, deadVary string, status int) *counter {
	return &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Accept-Language") {
		case "de", "en":
			w.Header().Set("Vary", okVary)
			w.Header().Set("Cache-Control", "max-age=600")
		default:
			if deadVary != "" {
				w.Header().Set("Vary", deadVary)
			}
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Location", "/en/a")
			w.WriteHeader(status)
		}
	}}
}

// onReload is a RefreshIf that fires on a client's reload (no-cache): a
// run without a lookup that any client can start.
func onReload() ViewOption {
	return RefreshIf(func(_ context.Context, r *http.Request) bool {
		return r.Header.Get("Cache-Control") == "no-cache"
	})
}
