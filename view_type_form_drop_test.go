package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// typedIfAsked is a middleware outside the view that sets the type of the
// response before the view runs for a request with X-Typed: such requests
// are of the typed form (appendViewKey), with an entry of their own.
func typedIfAsked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Typed") != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		next.ServeHTTP(w, r)
	})
}

// TestDroppedPageGoneForBothTypeForms: a page removed (a no-store 404 in
// place of a stale entry under SharedCache: dropRefreshed) dropped only the
// entry of the type form of the request that found it gone: the other
// form's entry, still fresh, kept serving the removed page until its TTL.
// Both are dropped now, with or without Vary.
func TestDroppedPageGoneForBothTypeForms(t *testing.T) {
	testSupersededForBothTypeForms(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.NotFound(w, r)
	})
}

// TestDeadResponseDropsBothTypeForms is TestDroppedPageGoneForBothTypeForms
// for a response dead on arrival (dropSuperseded): a new version of the
// page that arrives older than its max-age and stale window, with no
// validator, is not stored, and it supersedes the stale entry it answers,
// of both type forms: the other form's entry, still fresh, must not go on
// serving the old version.
func TestDeadResponseDropsBothTypeForms(t *testing.T) {
	testSupersededForBothTypeForms(t, func(w http.ResponseWriter, r *http.Request) {
		// Relayed from a cache upstream that held it past its max-age
		// and stale window, with no validator: dead on arrival
		// (entryFor).
		w.Header().Set("Cache-Control", "public, max-age=1, stale-while-revalidate=1")
		w.Header().Set("Age", "5")
		w.Write([]byte("new page"))
	})
}

// testSupersededForBothTypeForms stores a page for both type forms, makes
// the first form's entry stale and the second's not, then has the handler
// answer with superseding, which the cache does not store: the first
// form's request gets it, and so must the second form's, whose own entry
// it superseded too.
func testSupersededForBothTypeForms(t *testing.T, superseding http.HandlerFunc) {
	want := httptest.NewRecorder()
	superseding(want, httptest.NewRequest(http.MethodGet, "/p", nil))
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, vary := range []bool{false, true} {
			for _, firstTyped := range []bool{false, true} {
				name := fmt.Sprintf("vary=%v typed first=%v", vary, firstTyped)
				e := newViewEnv(t, k)
				var superseded atomic.Bool
				var runs atomic.Int32
				h := typedIfAsked(e.sharedView(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					runs.Add(1)
					if vary {
						w.Header().Set("Vary", "Accept-Language")
					}
					if superseded.Load() {
						superseding(w, r)
						return
					}
					w.Header().Set("Cache-Control", "public, max-age=10")
					w.Header().Set("ETag", `"v1"`)
					w.Write([]byte("old page"))
				})))
				first := []string{"Accept-Language", "en"}
				second := []string{"Accept-Language", "en", "X-Typed", "1"}
				if firstTyped {
					first, second = second, first
				}
				require.Equal(t, "MISS", get(h, "/p", first...).Header().Get("X-Cache"), name)
				e.clock.Advance(8 * time.Second)
				require.Equal(t, "MISS", get(h, "/p", second...).Header().Get("X-Cache"), name+": the other form's own entry")
				e.clock.Advance(4 * time.Second) // the first form's entry is stale, the second's fresh

				superseded.Store(true)
				w := get(h, "/p", first...)
				require.Equal(t, want.Code, w.Code, name)
				require.Equal(t, want.Body.String(), w.Body.String(), name)
				require.EqualValues(t, 3, runs.Load(), name)

				w = get(h, "/p", second...)
				assert.Equal(t, want.Body.String(), w.Body.String(),
					"%s: the other form was served the superseded page (X-Cache %s)", name, w.Header().Get("X-Cache"))
				assert.EqualValues(t, 4, runs.Load(), name)
			}
		}
	})
}
