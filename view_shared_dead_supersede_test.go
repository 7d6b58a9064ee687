package caching

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSharedCacheDeadRefreshWithVaryDropsOldEntry: a RefreshIf (or Warm) run
// whose response is dead on arrival (max-age=0, no validator) is not
// written, and deletes what writing it would have replaced. With Vary, only
// its variant's key was deleted: the entry without Vary under the base key
// stayed and went on being served as a HIT, where writing the response
// would have put a Vary record over it.
func TestSharedCacheDeadRefreshWithVaryDropsOldEntry(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var refresh atomic.Bool
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			if refresh.Load() {
				// The page now depends on the language, and is not to be
				// reused without revalidation.
				w.Header().Set("Vary", "Accept-Language")
				w.Header().Set("Cache-Control", "max-age=0")
				return
			}
			w.Header().Set("Cache-Control", "max-age=600")
		}}
		ch := e.sharedView(h, RefreshIf(func(context.Context, *http.Request) bool { return refresh.Load() }))
		get(ch, "/a")
		refresh.Store(true)
		assert.Equal(t, "b #2", get(ch, "/a", "Accept-Language", "fr").Body.String())
		refresh.Store(false)
		w := get(ch, "/a", "Accept-Language", "fr")
		assert.NotEqual(t, "b #1", w.Body.String(), "the superseded copy is served (X-Cache %s)", w.Header().Get("X-Cache"))
	})
}

// TestSharedCacheDeadWithoutVaryKeepsOthersVariants: a page that varied on
// Accept-Language (de stored for 10 minutes) now answers without Vary and
// with max-age=0, dead on arrival. fr's response, for a variant nothing was
// stored for, is that client's answer: de keeps being served for the
// freshness its own response was given (RFC 9111 invalidates on unsafe
// methods only), or any client could empty the page's variants by sending
// a header value the page answers otherwise (a CORS layer adding Origin to
// Vary, a locale redirect). de's own next run, once it is stale, finds it
// superseded: the dead response drops it and the record.
func TestSharedCacheDeadWithoutVaryKeepsOthersVariants(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var changed atomic.Bool
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			if changed.Load() {
				w.Header().Set("Cache-Control", "max-age=0")
				return
			}
			w.Header().Set("Vary", "Accept-Language")
			w.Header().Set("Cache-Control", "max-age=600")
		}}
		ch := e.sharedView(h)
		assert.Equal(t, "b #1", get(ch, "/a", "Accept-Language", "de").Body.String())
		changed.Store(true)
		assert.Equal(t, "b #2", get(ch, "/a", "Accept-Language", "fr").Body.String())
		w := get(ch, "/a", "Accept-Language", "de")
		assert.Equal(t, "b #1", w.Body.String(), "another client's answer dropped de (X-Cache %s)", w.Header().Get("X-Cache"))
		e.clock.Advance(11 * time.Minute)
		assert.Equal(t, "b #3", get(ch, "/a", "Accept-Language", "de").Body.String(), "de, stale, is run again")
		w = get(ch, "/a", "Accept-Language", "de")
		assert.Equal(t, "b #4", w.Body.String(), "the superseded de is served (X-Cache %s)", w.Header().Get("X-Cache"))
	})
}
