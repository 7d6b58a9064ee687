package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// floodVariants sends n requests to target, each with an Accept-Language
// of its own that no real client sends.
func floodVariants(h http.Handler, target string, n int) {
	for i := range n {
		get(h, target, "Accept-Language", fmt.Sprint("made-up-", i))
	}
}

// TestForeverVariantsFloodHeals: under Forever a variant's entry, and its
// slot in the page's Vary record, never ended (in a SharedCache view, a
// variant lived as long as its max-age said): MaxVariants requests with
// made-up Accept-Language values filled the record until the path's
// version key ended, 7 to 28 days later (for good under a KeyFunc), and every
// language no one had asked for before was served uncached from then on.
// A variant now lives at most maxVariantLife: the flood keeps new
// languages uncached for that long at most, and the page heals by itself.
func TestForeverVariantsFloodHeals(t *testing.T) {
	cases := []struct {
		name string
		view func(e *viewEnv, h http.Handler) http.Handler
		fn   func(w http.ResponseWriter, r *http.Request)
	}{
		{"default", func(e *viewEnv, h http.Handler) http.Handler {
			return e.c.Cached(Forever, CacheStatusHeader("X-Cache"), MaxVariants(4))(h)
		}, nil},
		// No path version bounds an entry of a key without the path:
		// the record stayed full for good.
		{"keyfunc", func(e *viewEnv, h http.Handler) http.Handler {
			return e.c.Cached(Forever, KeyFunc(func(r *http.Request) string { return r.URL.Path }),
				CacheStatusHeader("X-Cache"), MaxVariants(4))(h)
		}, nil},
		{"shared max-age=1y", func(e *viewEnv, h http.Handler) http.Handler {
			return e.c.Cached(Forever, SharedCache(), CacheStatusHeader("X-Cache"), MaxVariants(4))(h)
		}, func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Cache-Control", "max-age=31536000") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				ch := tc.view(e, &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Vary", "Accept-Language")
					if tc.fn != nil {
						tc.fn(w, r)
					}
				}})
				status := func(lang string) string {
					return get(ch, "/page", "Accept-Language", lang).Header().Get("X-Cache")
				}

				status("en")
				require.Equal(t, "HIT", status("en"))
				floodVariants(ch, "/page", 10)
				assert.Equal(t, "HIT", status("en"), "a variant stored before the flood is still served")
				status("fr")
				assert.Equal(t, "MISS", status("fr"),
					"the record is full: a new language is not stored (bounded degradation)")

				e.clock.Advance(maxVariantLife + time.Second)
				status("fr")
				assert.Equal(t, "HIT", status("fr"), "the flood's variants have ended: a new language is stored again")
				status("en")
				assert.Equal(t, "HIT", status("en"))
			})
		})
	}
}

// TestBoundedVariantKeepsStaleWindow: a variant cut to maxVariantLife
// keeps the view's stale window past it: a Forever page with StaleIfError
// whose handler fails once the day is over is still answered from the
// variant stored, not with the 5xx, for as long as the window says.
func TestBoundedVariantKeepsStaleWindow(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		failing := false
		ch := e.c.Cached(Forever, StaleIfError(time.Hour), CacheStatusHeader("X-Cache"))(&counter{body: "page",
			fn: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Vary", "Accept-Language")
				if failing {
					w.WriteHeader(http.StatusInternalServerError)
				}
			}})
		get(ch, "/page", "Accept-Language", "en")
		failing = true
		e.clock.Advance(maxVariantLife + time.Minute)
		w := get(ch, "/page", "Accept-Language", "en")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "page #1", w.Body.String(), "the stored variant, stale")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))

		e.clock.Advance(time.Hour)
		assert.Equal(t, http.StatusInternalServerError, get(ch, "/page", "Accept-Language", "en").Code,
			"past the window the variant is gone")
	})
}

// TestNeverEndingRecordOfBeforeHeals: a Vary record written before
// maxVariantLife lists variants that never end (until 0) under Forever;
// under a KeyFunc no path version ends the record either, so one that a
// flood had filled stayed full for good after the upgrade. Such a variant
// now counts for maxVariantLife from the record's last write.
func TestNeverEndingRecordOfBeforeHeals(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		opts := []ViewOption{KeyFunc(func(r *http.Request) string { return r.URL.Path }), CacheStatusHeader("X-Cache"), MaxVariants(4)}
		ch := e.c.Cached(Forever, opts...)(&counter{body: "page",
			fn: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Vary", "Accept-Language") }})
		r := httptest.NewRequest(http.MethodGet, "/page", nil)
		base, err := e.c.ViewKey(r, opts...)
		require.NoError(t, err)
		names := []string{"Accept-Language"}
		full := &varySpec{names: names}
		for i := range 4 {
			r.Header.Set("Accept-Language", fmt.Sprint("made-up-", i))
			full.variants = append(full.variants, newVariantID(httpcache.VariantKey(r, names)))
			full.until = append(full.until, 0)
		}
		rec := &entry{Created: e.clock.Now().UnixNano()}
		e.c.store.setEncoder(rec, full)
		require.NoError(t, e.c.store.saveDeferred(t.Context(), base, rec, versionSet{}, nil))

		get(ch, "/page", "Accept-Language", "fr")
		require.Equal(t, "MISS", get(ch, "/page", "Accept-Language", "fr").Header().Get("X-Cache"), "the record is full")
		e.clock.Advance(maxVariantLife + time.Second)
		get(ch, "/page", "Accept-Language", "fr")
		assert.Equal(t, "HIT", get(ch, "/page", "Accept-Language", "fr").Header().Get("X-Cache"),
			"the record's variants of before count for a day from its last write")
	})
}
