package httpcache

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnapshotOfATransferCodedResponseSniffsNoType: net/http sniffs no
// Content-Type for a handler that sets a Transfer-Encoding (HTTP/1.x: the
// first value, not blank), so its miss went out without one; the snapshot
// dropped the field (hop-by-hop) and stored the type sniffed from the body,
// which every GET and HEAD hit sent. It stores the suppression instead, a
// nil-valued Content-Type (format version 4), as for a handler that sets
// its Content-Type to nil; a type the handler set is kept.
func TestSnapshotOfATransferCodedResponseSniffsNoType(t *testing.T) {
	html := []byte(strings.Repeat("<p>hello</p>\n", 100))
	for _, tc := range []struct {
		name string
		h    http.Header
		want []string
		kept bool // a nil-valued key
	}{
		{"chunked", http.Header{"Transfer-Encoding": {"chunked"}}, nil, true},
		{"identity", http.Header{"Transfer-Encoding": {"identity"}}, nil, true},
		{"typed", http.Header{"Transfer-Encoding": {"chunked"}, "Content-Type": {"a/b"}}, []string{"a/b"}, true},
		{"encoded", http.Header{"Transfer-Encoding": {"chunked"}, "Content-Encoding": {"gzip"}}, nil, false},
		{"blank", http.Header{"Transfer-Encoding": {""}}, []string{"text/html; charset=utf-8"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range []*Snapshot{
				NewSnapshot(http.StatusOK, tc.h, html, time.Unix(1e9, 0)),
				NewSharedSnapshot(http.StatusOK, tc.h, html, time.Unix(1e9, 0)),
			} {
				assert.NotContains(t, s.Header, "Transfer-Encoding", "hop-by-hop")
				vs, ok := s.Header["Content-Type"]
				assert.Equal(t, tc.want, vs)
				assert.Equal(t, tc.kept, ok)
				d, err := Decode(s.Encode(nil))
				require.NoError(t, err)
				vs, ok = d.Header["Content-Type"]
				assert.Equal(t, tc.want, vs, "decoded")
				assert.Equal(t, tc.kept, ok, "decoded")
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					w := httptest.NewRecorder()
					d.Serve(w, httptest.NewRequest(method, "/", nil), d.StoredAt, "", Hit)
					vs, ok := w.Header()["Content-Type"]
					assert.Equal(t, tc.want, vs, "%s hit", method)
					assert.Equal(t, tc.kept, ok, "%s hit", method)
				}
			}
		})
	}
}

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
