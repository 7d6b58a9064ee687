package caching

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
// made-up Accept-Language values filled the record for good (on Redis
// until the path's version key ended, 7 to 28 days later), and every
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
