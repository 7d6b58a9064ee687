package httpcache

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnapshotKeepsASuppressedDate: a handler that sets h["Date"] = nil has
// net/http send no Date; the snapshot dropped the nil-valued key, so every
// hit got the Date net/http adds. A snapshot of the default mode
// (NewSnapshot: the view stands for the handler) keeps it, nil-valued, in
// format version 4, and a hit, a 304 included, sends no Date either. A
// shared cache's (NewSharedSnapshot, Freshen) does not: a cache appends a
// Date to a response it stores without one (RFC 9110 section 6.6.1), so
// its hits get the one net/http adds.
func TestSnapshotKeepsASuppressedDate(t *testing.T) {
	body := []byte("hello")
	hdr := func() http.Header {
		return http.Header{"Date": nil, "Content-Type": {"text/plain"}, "Etag": {`"x"`}}
	}
	s := NewSnapshot(http.StatusOK, hdr(), body, time.Unix(1e9, 0))
	vs, ok := s.Header["Date"]
	assert.True(t, ok && vs == nil, "kept, nil-valued")
	b := s.Encode(nil)
	assert.Len(t, b, s.EncodedLen())
	require.Equal(t, byte(formatUntyped), b[len(magic)], "version 4")
	d, err := Decode(b)
	require.NoError(t, err)
	vs, ok = d.Header["Date"]
	assert.True(t, ok && vs == nil, "decoded")
	assert.Equal(t, []string{"text/plain"}, d.Header["Content-Type"])
	assert.Equal(t, b, d.Encode(nil), "written again as read")
	for _, snap := range []*Snapshot{s, d} {
		for _, inm := range []string{"", `"x"`} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if inm != "" {
				r.Header.Set("If-None-Match", inm)
			}
			snap.Serve(w, r, snap.StoredAt, "", Hit)
			vs, ok := w.Header()["Date"]
			assert.True(t, ok && vs == nil, "served (If-None-Match %q): net/http sends none", inm)
		}
	}

	// Both fields suppressed, with the fields of versions 2 and 3.
	both := NewSnapshot(http.StatusOK, http.Header{"Date": nil, "Content-Type": nil}, []byte("<p>x"), time.Unix(1e9, 0))
	both.SetDeleted([]string{"X-Frame-Options"})
	both.SetOuterDirectives(http.Header{"Cache-Control": {"max-age=10"}})
	b = both.Encode(nil)
	require.Equal(t, byte(formatUntyped), b[len(magic)])
	d, err = Decode(b)
	require.NoError(t, err)
	assert.Equal(t, http.Header{"Date": nil, "Content-Type": nil, "Content-Length": {"4"}, "Etag": {BodyETag([]byte("<p>x"))}}, d.Header)
	assert.Equal(t, http.Header{"Cache-Control": {"max-age=10"}}, d.OuterDirectives())

	// Only Content-Type and Date may have no value, and only in version 4.
	other := &Snapshot{Status: http.StatusOK, Header: http.Header{"Date": nil, "X-Empty": nil}, StoredAt: time.Unix(1e9, 0)}
	b = other.Encode(nil)
	require.Equal(t, byte(formatUntyped), b[len(magic)])
	_, err = Decode(b)
	assert.ErrorIs(t, err, ErrCorrupt, "another field with no value")
	b = s.Encode(nil)
	b[len(magic)] = formatOuter
	_, err = Decode(b)
	assert.ErrorIs(t, err, ErrCorrupt, "a Date with no value in version 3")

	for name, sh := range map[string]*Snapshot{
		"NewSharedSnapshot": NewSharedSnapshot(http.StatusOK, hdr(), body, time.Unix(1e9, 0)),
		"Freshen":           NewSharedSnapshot(http.StatusOK, http.Header{"Etag": {`"x"`}}, body, time.Unix(1e9, 0)).Freshen(http.Header{"Date": nil}, "", time.Unix(1e9, 0)),
	} {
		_, ok := sh.Header["Date"]
		assert.False(t, ok, "%s: a shared cache dates what it stores", name)
		assert.NotEqual(t, byte(formatUntyped), sh.Encode(nil)[len(magic)], name+": no Date without a value (version 4)")
	}
}

// TestDecodeRefusesAnOuterFieldTheHeaderHoldsWithNoValue: an outer
// directive the header section holds is corrupt, and so is one it holds
// with no value (a Content-Type or Date of version 4), which Encode never
// writes: SetOuterDirectives leaves out every field the header holds.
func TestDecodeRefusesAnOuterFieldTheHeaderHoldsWithNoValue(t *testing.T) {
	for _, name := range []string{"Content-Type", "Date"} {
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
