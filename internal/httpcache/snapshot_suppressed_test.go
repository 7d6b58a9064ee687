package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodeRefusesAnOuterFieldTheHeaderHoldsWithNoValue: an outer
// directive the header section holds is corrupt, and so is one it holds
// with no value (a Content-Type of version 4), which Encode never
// writes: SetOuterDirectives leaves out every field the header holds.
func TestDecodeRefusesAnOuterFieldTheHeaderHoldsWithNoValue(t *testing.T) {
	for _, name := range []string{"Content-Type"} {
		t.Run(name, func(t *testing.T) {
			s := NewSnapshot(http.StatusOK, http.Header{name: nil}, []byte("<p>x"), time.Unix(1e9, 0))
			require.Contains(t, s.Header, name)
			s.SetOuterDirectives(http.Header{name: {"text/html"}, "Cache-Control": {"max-age=10"}})
			assert.Equal(t, http.Header{"Cache-Control": {"max-age=10"}}, s.OuterDirectives(), "the header's field left out")

			// Written as no release writes it: a valued field in the
			// outer section beside the header's valueless one.
			outer := http.Header{name: {"text/html"}}
			s.rare = &rareFields{outer: outer, outerFields: sortedFields(outer)}
			b := s.Encode(nil)
			require.Equal(t, byte(formatUntyped), b[len(magic)])
			_, err := Decode(b)
			assert.ErrorIs(t, err, ErrCorrupt)
			assert.ErrorContains(t, err, "outer directive stored in the header")
		})
	}
}
