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

// TestSnapshotStoresTheContentTypeNetHTTPSniffs: a response whose handler
// set no Content-Type got the one net/http sniffed from its body; a HEAD
// served from its snapshot, whose body net/http does not see, had none.
// The snapshot stores it, by net/http's rule: not for an empty body, a
// Content-Encoding, a status without a body, nor over the handler's own
// type.
func TestSnapshotStoresTheContentTypeNetHTTPSniffs(t *testing.T) {
	html := []byte(strings.Repeat("<p>hello</p>\n", 100))
	for _, tc := range []struct {
		name   string
		status int
		h      http.Header
		body   []byte
		want   []string
	}{
		{"sniffed", http.StatusOK, http.Header{}, html, []string{"text/html; charset=utf-8"}},
		{"another status with a body", http.StatusNotFound, http.Header{}, []byte("not found"), []string{"text/plain; charset=utf-8"}},
		{"the handler's own", http.StatusOK, http.Header{"Content-Type": {"application/xhtml+xml"}}, html, []string{"application/xhtml+xml"}},
		// net/http reads only the canonical key, and writes nothing for
		// another spelling without values: it sniffs a type.
		{"another spelling set to nil", http.StatusOK, http.Header{"content-type": nil}, html, []string{"text/html; charset=utf-8"}},
		{"empty body", http.StatusOK, http.Header{}, nil, nil},
		{"encoded", http.StatusOK, http.Header{"Content-Encoding": {"gzip"}}, html, nil},
		{"no body allowed", http.StatusNoContent, http.Header{}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range []*Snapshot{
				NewSnapshot(tc.status, tc.h, tc.body, time.Unix(1e9, 0)),
				NewSharedSnapshot(tc.status, tc.h, tc.body, time.Unix(1e9, 0)),
			} {
				assert.Equal(t, tc.want, s.Header["Content-Type"])
				d, err := Decode(s.Encode(nil))
				if assert.NoError(t, err) {
					assert.Equal(t, tc.want, d.Header["Content-Type"], "decoded")
				}
			}
		})
	}
}

// TestSnapshotKeepsASuppressedContentType: a handler that sets
// h["Content-Type"] = nil has net/http send no Content-Type, and sniff
// none; the snapshot dropped the nil-valued key, and stored the sniffed
// type, which every hit then sent. It keeps the key, nil-valued (where
// net/http would otherwise sniff), and so does a Freshen that sets no
// Content-Type; Encode writes it in format version 4, which Decode reads
// back with the key, and every other snapshot as before.
func TestSnapshotKeepsASuppressedContentType(t *testing.T) {
	html := []byte(strings.Repeat("<p>hello</p>\n", 100))
	untyped := func() http.Header { return http.Header{"Content-Type": nil, "Etag": {`"x"`}} }
	for _, tc := range []struct {
		name    string
		status  int
		h       http.Header
		body    []byte
		kept    bool
		version byte
	}{
		{"sniffable", http.StatusOK, untyped(), html, true, formatUntyped},
		{"an empty slice", http.StatusOK, http.Header{"Content-Type": {}}, html, true, formatUntyped},
		{"empty body", http.StatusOK, untyped(), nil, false, formatVersion},
		{"encoded", http.StatusOK, http.Header{"Content-Type": nil, "Content-Encoding": {"gzip"}}, html, false, formatVersion},
		{"no body allowed", http.StatusNoContent, untyped(), nil, false, formatVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range []*Snapshot{
				NewSnapshot(tc.status, tc.h, tc.body, time.Unix(1e9, 0)),
				NewSharedSnapshot(tc.status, tc.h, tc.body, time.Unix(1e9, 0)),
			} {
				vs, ok := s.Header["Content-Type"]
				assert.Nil(t, vs)
				assert.Equal(t, tc.kept, ok, "nil-valued key kept")
				b := s.Encode(nil)
				assert.Len(t, b, s.EncodedLen())
				assert.Equal(t, tc.version, b[len(magic)], "format version")
				d, err := Decode(b)
				if !assert.NoError(t, err) {
					continue
				}
				vs, ok = d.Header["Content-Type"]
				assert.Nil(t, vs)
				assert.Equal(t, tc.kept, ok, "decoded")
				assert.Equal(t, b, d.Encode(nil), "written again as read")
				for _, snap := range []*Snapshot{s, d} {
					w := httptest.NewRecorder()
					snap.Serve(w, httptest.NewRequest(http.MethodHead, "/", nil), snap.StoredAt, "", Hit)
					_, ok := w.Header()["Content-Type"]
					assert.Equal(t, tc.kept, ok, "served")
				}
			}
		})
	}

	s := NewSharedSnapshot(http.StatusOK, untyped(), html, time.Unix(1e9, 0))
	f := s.Freshen(http.Header{"Cache-Control": {"max-age=30"}}, "", s.StoredAt)
	vs, ok := f.Header["Content-Type"]
	assert.True(t, ok && vs == nil, "kept by Freshen")
	f = s.Freshen(http.Header{"Content-Type": {"text/plain"}}, "", s.StoredAt)
	assert.Equal(t, []string{"text/plain"}, f.Header["Content-Type"], "a 304's type replaces it")

	// A hit costs what one of the sniffed type does.
	typed := NewSharedSnapshot(http.StatusOK, http.Header{"Etag": {`"x"`}}, html, time.Unix(1e9, 0))
	w := &nopWriter{h: make(http.Header)}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	assert.Zero(t, testing.AllocsPerRun(100, func() { s.Serve(w, r, s.StoredAt, "X-Cache", Hit) }), "Serve")
	b, tb := s.Encode(nil), typed.Encode(nil)
	assert.Equal(t, testing.AllocsPerRun(100, func() { _, _ = Decode(tb) }), testing.AllocsPerRun(100, func() { _, _ = Decode(b) }), "Decode")

	// With the fields of versions 2 and 3.
	s.SetDeleted([]string{"X-Frame-Options"})
	for _, outer := range []http.Header{nil, {"Cache-Control": {"max-age=10"}}} {
		s.SetOuterDirectives(outer)
		b := s.Encode(nil)
		assert.Len(t, b, s.EncodedLen())
		require.Equal(t, byte(formatUntyped), b[len(magic)])
		d, err := Decode(b)
		require.NoError(t, err)
		assert.Equal(t, []string{"X-Frame-Options"}, d.Deleted())
		assert.Equal(t, s.OuterDirectives(), d.OuterDirectives())
		_, ok := d.Header["Content-Type"]
		assert.True(t, ok)
		assert.Equal(t, b, d.Encode(nil), "written again as read")
	}
}

// TestDecodeRefusesAContentTypeWithNoValueOutsideVersion4: only version 4
// holds a field with no value, and only a Content-Type; a version 4
// snapshot holds one.
func TestDecodeRefusesAContentTypeWithNoValueOutsideVersion4(t *testing.T) {
	html := []byte(strings.Repeat("<p>hello</p>\n", 100))
	untyped := NewSnapshot(http.StatusOK, http.Header{"Content-Type": nil}, html, time.Unix(1e9, 0))
	b := untyped.Encode(nil)
	require.Equal(t, byte(formatUntyped), b[len(magic)])
	b[len(magic)] = formatOuter
	_, err := Decode(b)
	assert.ErrorIs(t, err, ErrCorrupt, "version 3")

	typed := NewSnapshot(http.StatusOK, http.Header{"Cache-Control": {"max-age=1"}, "Content-Type": {"text/html"}}, html, time.Unix(1e9, 0))
	typed.SetOuterDirectives(http.Header{"Expires": {"0"}})
	b = typed.Encode(nil)
	require.Equal(t, byte(formatOuter), b[len(magic)])
	b[len(magic)] = formatUntyped
	_, err = Decode(b)
	assert.ErrorIs(t, err, ErrCorrupt, "version 4 without a Content-Type with no value")
	assert.ErrorContains(t, err, "what version 4 is for")

	other := &Snapshot{Status: http.StatusOK, Header: http.Header{"Content-Type": nil, "X-Empty": nil}, StoredAt: time.Unix(1e9, 0)}
	b = other.Encode(nil)
	require.Equal(t, byte(formatUntyped), b[len(magic)])
	_, err = Decode(b)
	assert.ErrorIs(t, err, ErrCorrupt, "another field with no value")
}

// TestDecodeRefusesAnEmptyOuterSectionInVersion3: version 4 lets the outer
// directives section be empty, version 3 still does not.
func TestDecodeRefusesAnEmptyOuterSectionInVersion3(t *testing.T) {
	s := NewSnapshot(http.StatusOK, http.Header{"Content-Type": nil}, []byte("<p>x"), time.Unix(1e9, 0))
	b := s.Encode(nil)
	require.Equal(t, byte(formatUntyped), b[len(magic)])
	require.Equal(t, emptySection, string(b[len(b)-len("<p>x")-1-len(emptySection):len(b)-len("<p>x")-1]), "the empty outer section before the body")
	_, err := Decode(b)
	require.NoError(t, err)
	// The same section in version 3, with a Content-Type: refused.
	typed := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"a/b"}}, []byte("<p>x"), time.Unix(1e9, 0))
	typed.SetDeleted([]string{"X-A"})
	tb := typed.Encode(nil) // version 2: deleted names, no outer section
	require.Equal(t, byte(formatDeleted), tb[len(magic)])
	body := len(tb) - len("<p>x") - 1
	v3 := append(append(append([]byte{}, tb[:body]...), 2, 0, 0), tb[body:]...)
	v3[len(magic)] = formatOuter
	_, err = Decode(v3)
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, "no outer directives")
}
