package caching

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestVaryNamesChangeKeepsMaxVariants: the variant count MaxVariants bounds
// was kept only while a response's Vary names stayed the same. A change of
// names wrote a new Vary record listing only the new variant, and the
// variants the old one listed stayed stored, uncounted, until they expired:
// a handler whose Vary depends on the request (an i18n page varying on
// Accept-Language behind a CORS middleware that adds Origin only for a
// request with Origin) stored one variant per request, 200 under
// MaxVariants(4). The variants recorded under the old names now go on
// counting until they expire.
func TestVaryNamesChangeKeepsMaxVariants(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ViewOption
	}{{"shared", []ViewOption{SharedCache()}}, {"default", nil}} {
		t.Run(mode.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				opts := append([]ViewOption{MaxVariants(4)}, mode.opts...)
				ch := e.c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=60")
					w.Header().Set("Vary", "Accept-Language")
					if o := r.Header.Get("Origin"); o != "" { // the CORS middleware
						w.Header().Add("Vary", "Origin")
						w.Header().Set("Access-Control-Allow-Origin", o)
					}
					fmt.Fprintf(w, "page in %q", r.Header.Get("Accept-Language"))
				}))
				get(ch, "/page")
				base := entries(t, e.store)
				for i := range 100 {
					get(ch, "/page", "Accept-Language", fmt.Sprint("a", i), "Origin", "https://shop.example")
					get(ch, "/page", "Accept-Language", fmt.Sprint("b", i))
				}
				// At most MaxVariants variants (and the record) for the URL.
				assert.LessOrEqual(t, entries(t, e.store), base+4, "variants of one URL stored past MaxVariants(4)")
				// The variants stored under the names recorded last (those
				// of a1, with Origin: "", a0 and b0 went before it) are
				// still served from the cache.
				hits := e.c.Stats().Hits
				assert.Equal(t, `page in "a1"`, get(ch, "/page", "Accept-Language", "a1", "Origin", "https://shop.example").Body.String())
				assert.Equal(t, hits+1, e.c.Stats().Hits)
			})
		})
	}
}
