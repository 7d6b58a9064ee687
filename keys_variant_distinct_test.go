package caching

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/httpcache"
)

// TestVariantBackendKeysDistinct: requests that differ in a field a
// response varies on never share a backend key, whether the variant is
// spelled (fields of content negotiation) or named by its hash (any other
// field), nor does a variant of one Vary set share the key of another's,
// spelled or hashed: lines in another order or split, repeated, '_'
// spellings, an empty field and an absent one, case, and values holding
// '&', '=', '%' or '#'.
func TestVariantBackendKeysDistinct(t *testing.T) {
	sets := [][]string{
		{"Accept-Language"},
		{"Cookie"},
		{"Accept-Language", "Cookie"},
		{"Accept-Language", "Accept-Encoding"},
		{"Authorization", "Cookie"},
	}
	reqs := [][]string{
		nil,
		{"Accept-Language", ""},
		{"Cookie", ""},
		{"Accept-Language", "fr"},
		{"Accept-Language", "FR"},
		{"Accept-Language", "fr", "Accept-Language", "en"},
		{"Accept-Language", "en", "Accept-Language", "fr"},
		{"Accept-Language", "fr,en"},
		{"Accept-Language", "fr, en"},
		{"Accept_language", "fr"},
		{"Accept-Language", "fr", "Accept_language", "fr"},
		{"Cookie", "a=1"},
		{"Cookie", "a=1&Cookie=b"},
		{"Cookie", "a=1", "Cookie", "b"},
		{"Cookie", "a%3D1"},
		{"Cookie", "a=1#x"},
		{"Cookie", "a=1", "Accept-Language", "fr"},
		{"Cookie", "a=1&Accept-Language=fr"},
		{"Authorization", "Bearer x", "Cookie", "a=1"},
		{"Authorization", "Bearer x&Cookie=a=1"},
	}
	seen := map[string]string{}
	for _, names := range sets {
		for _, hdr := range reqs {
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			for i := 0; i < len(hdr); i += 2 {
				r.Header[hdr[i]] = append(r.Header[hdr[i]], hdr[i+1])
			}
			variant := httpcache.VariantKey(r, names)
			key := variantNames{}.key("v/p", variant, names)
			desc := strings.Join(names, ",") + " " + variant
			if prev, ok := seen[key]; ok {
				// The same variant key of the same names is the one
				// variant; anything else sharing a backend key is not.
				assert.Equal(t, prev, desc, "two variants share the key %q", key)
				continue
			}
			seen[key] = desc
		}
	}
}
