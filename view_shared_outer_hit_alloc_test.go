package caching

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheOuterDirectivesRemoteHitAllocatesNothingMore: a page whose
// Cache-Control an outer middleware sets is stored with a record of it
// (format version 3), and every fresh remote hit of it decoded the record,
// which only revalidations and stale decisions read: 4 allocations more
// than the same page whose handler sets the field. A fresh remote hit of
// it now allocates no more than one of that page. (That the record still
// judges a remote entry: the tests of view_shared_outer_directives_test.go,
// on both stores.)
func TestSharedCacheOuterDirectivesRemoteHitAllocatesNothingMore(t *testing.T) {
	k := viewStores[1]
	require.Equal(t, "remote", k.name)
	page := func(setsCacheControl bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			if setsCacheControl {
				w.Header().Set("Cache-Control", "public, max-age=60")
			}
			_, _ = w.Write([]byte("page"))
		})
	}
	hitAllocs := func(h http.Handler) float64 {
		r, _ := http.NewRequest(http.MethodGet, "http://example.com/a", nil)
		d := &discardWriter{h: make(http.Header)}
		h.ServeHTTP(d, r) // stored
		clear(d.h)
		h.ServeHTTP(d, r)
		require.Equal(t, "HIT", d.h.Get("X-Cache"))
		return testing.AllocsPerRun(100, func() { h.ServeHTTP(d, r) })
	}
	// The same outer middleware in front of both: one sets a field that is
	// no directive, the other the page's Cache-Control.
	own := outerFields(newViewEnv(t, k).sharedView(page(true)), "X-Content-Type-Options", "nosniff")
	outer := outerFields(newViewEnv(t, k).sharedView(page(false)), "Cache-Control", "public, max-age=60")
	assert.LessOrEqual(t, hitAllocs(outer), hitAllocs(own))

}
