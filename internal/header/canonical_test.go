package header_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/header"
)

func TestCanonicalize(t *testing.T) {
	t.Run("merges spellings in a fixed order", func(t *testing.T) {
		for range 20 { // map order varies from run to run
			h := http.Header{
				"set-cookie": {"b=2"},
				"SET-COOKIE": {"c=3"},
				"Set-Cookie": {"a=1"},
				"vary":       {"*"},
				"X-Ok":       {"1"},
			}
			header.Canonicalize(h)
			assert.Equal(t, http.Header{"Set-Cookie": {"a=1", "c=3", "b=2"}, "Vary": {"*"}, "X-Ok": {"1"}}, h)
		}
	})
	t.Run("presence without values is kept under the canonical key only", func(t *testing.T) {
		// net/http suppresses its own Content-Type and Date for a
		// canonical key without values only; it writes nothing for
		// another spelling without values, which suppresses nothing.
		h := http.Header{"Content-Type": nil, "date": nil, "x-empty": {}, "vary": {"Origin"}}
		header.Canonicalize(h)
		assert.Equal(t, http.Header{"Content-Type": nil, "Vary": {"Origin"}}, h)
		h = http.Header{"Date": nil, "date": nil}
		header.Canonicalize(h)
		v, ok := h["Date"]
		assert.True(t, ok)
		assert.Empty(t, v)
		assert.Len(t, h, 1)
	})
	t.Run("shared slices are not written into", func(t *testing.T) {
		shared := make([]string, 1, 4)
		shared[0] = "Accept"
		h := http.Header{"Vary": shared, "vary": {"Origin"}}
		header.Canonicalize(h)
		assert.Equal(t, []string{"Accept", "Origin"}, h["Vary"])
		assert.Equal(t, []string{"Accept", ""}, shared[:2], "the shared array is untouched")
	})
	t.Run("invalid names left alone", func(t *testing.T) {
		h := http.Header{"bad key": {"1"}, "Trailer:x": {"2"}}
		header.Canonicalize(h)
		assert.Equal(t, http.Header{"bad key": {"1"}, "Trailer:x": {"2"}}, h)
	})
	t.Run("canonical map does not allocate", func(t *testing.T) {
		h := http.Header{"Content-Type": {"text/plain"}, "Cache-Control": {"max-age=60"}, "Etag": {`"x"`}}
		assert.Zero(t, testing.AllocsPerRun(100, func() { header.Canonicalize(h) }))
	})
}
