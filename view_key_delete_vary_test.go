package caching

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewKeyDeleteDropsEveryVariant: deleting the key ViewKey gives for a
// response with Vary drops every variant, as its doc says. The variants
// stayed under their own keys, and the first response stored after the
// delete wrote a Vary record again with the same names: every variant stored
// before the delete was then served as a HIT, with the data from before it.
// A variant the record does not list is now a miss; the run it causes lists
// it again, so that it costs one miss, not one per request.
func TestViewKeyDeleteDropsEveryVariant(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
				e := newViewEnv(t, k)
				opts := []ViewOption{CacheStatusHeader("X-Cache")}
				if shared {
					opts = append(opts, SharedCache())
				}
				data := "v1"
				view := e.c.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Vary", "Accept-Language")
					w.Header().Set("Cache-Control", "public, max-age=3600")
					fmt.Fprintf(w, "%s %s", data, r.Header.Get("Accept-Language"))
				}))
				lang := func(l string) (body, status string) {
					w := get(view, "http://shop.example/page", "Accept-Language", l)
					return w.Body.String(), w.Header().Get("X-Cache")
				}
				peek := func(l string) error {
					r := httptest.NewRequest(http.MethodGet, "http://shop.example/page", nil)
					r.Header.Set("Accept-Language", l)
					_, _, err := e.c.Peek(r, opts...)
					return err
				}
				lang("en")
				lang("fr")
				_, st := lang("fr")
				require.Equal(t, "HIT", st)

				// The data changes; the program drops the page as ViewKey's doc says.
				data = "v2"
				key, err := e.c.ViewKey(httptest.NewRequest(http.MethodGet, "http://shop.example/page", nil), opts...)
				require.NoError(t, err)
				require.NoError(t, e.c.Backend().Delete(context.Background(), key))

				body, st := lang("en")
				assert.Equal(t, "v2 en", body)
				assert.Equal(t, "MISS", st)
				assert.ErrorIs(t, peek("fr"), ErrNotFound, "Peek agrees: fr is not stored")
				body, st = lang("fr")
				assert.Equal(t, "v2 fr", body, "a variant stored before the delete")
				assert.Equal(t, "MISS", st)
				body, st = lang("fr")
				assert.Equal(t, "v2 fr", body)
				assert.Equal(t, "HIT", st, "the miss listed fr again")
				assert.NoError(t, peek("fr"))
			})
		}
	})
}

// TestVaryRecordListsOlderReleasesVariants: a record of an older release
// names its variants by a 64-bit FNV-1a hash ({0, h}); the variants it
// lists are still found, the others are not.
func TestVaryRecordListsOlderReleasesVariants(t *testing.T) {
	fnv64a := func(s string) uint64 {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s))
		return h.Sum64()
	}
	spec := &varySpec{names: []string{"Accept-Language"}, variants: []variantID{{0, fnv64a("Accept-Language=en")}, newVariantID("Accept-Language=de")}}
	assert.True(t, spec.lists(variantNames{}, "Accept-Language=en"), "listed by an older release")
	assert.True(t, spec.lists(variantNames{}, "Accept-Language=de"), "listed by this one")
	assert.False(t, spec.lists(variantNames{}, "Accept-Language=fr"))
}

// TestVaryRecordListsRemembersWithoutAllocating: a record remembers the
// variants it found listed (a maphash, not a SHA-256, per hit), never one
// it does not list, and a variant key of a real browser's length costs no
// allocation either way.
func TestVaryRecordListsRemembersWithoutAllocating(t *testing.T) {
	en := "Accept-Encoding=gzip, deflate, br, zstd&Accept-Language=en-US,en;q=0.9,fr;q=0.8"
	fr := "Accept-Encoding=gzip, deflate, br, zstd&Accept-Language=fr-FR,fr;q=0.9"
	spec := &varySpec{names: []string{"Accept-Encoding", "Accept-Language"}, variants: []variantID{newVariantID(en)}}
	for range 3 {
		assert.True(t, spec.lists(variantNames{}, en))
		assert.False(t, spec.lists(variantNames{}, fr), "a variant the record does not list")
	}
	// Another record, without en, remembers nothing of the first one's.
	other := &varySpec{names: spec.names, variants: []variantID{newVariantID(fr)}}
	assert.False(t, other.lists(variantNames{}, en))
	assert.True(t, other.lists(variantNames{}, fr))
	assert.Zero(t, testing.AllocsPerRun(100, func() { spec.lists(variantNames{}, en) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { spec.lists(variantNames{}, fr) }))
}
