package httpcache

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnapshotOuterDirectives: the directive fields an outer middleware set
// that a response was judged by (Snapshot.OuterDirectives) are never served
// (a hit sends the writer's own), JudgedHeader adds them to the stored
// header, Freshen keeps them unless the 304 sets the field, and they
// survive Encode and Decode in format version 3, with or without deleted
// names. A snapshot without them is written as before (version 1 or 2).
func TestSnapshotOuterDirectives(t *testing.T) {
	s := NewSharedSnapshot(http.StatusOK, http.Header{"Etag": {`"x"`}, "Content-Type": {"text/plain"}}, []byte("body"), time.Unix(1700000000, 0))
	require.Equal(t, byte(formatVersion), s.Encode(nil)[len(magic)])
	assert.Nil(t, s.OuterDirectives())
	assert.Equal(t, s.Header, s.JudgedHeader(), "Header itself")

	s.SetOuterDirectives(http.Header{
		"cache-control":     {"public, max-age=10"},
		"Cdn-Cache-Control": {"max-age=60"},
		"Etag":              {`"outer"`}, // stored: left out
		"X-Empty":           {},
		"Bad Name":          {"1"},
	})
	want := http.Header{"Cache-Control": {"public, max-age=10"}, "Cdn-Cache-Control": {"max-age=60"}}
	assert.Equal(t, want, s.OuterDirectives())
	assert.Equal(t, http.Header{
		"Cache-Control": {"public, max-age=10"}, "Cdn-Cache-Control": {"max-age=60"},
		"Etag": {`"x"`}, "Content-Type": {"text/plain"}, "Content-Length": {"4"},
	}, s.JudgedHeader())
	assert.NotContains(t, s.Header, "Cache-Control", "not stored")

	b := s.Encode(nil)
	assert.Len(t, b, s.EncodedLen())
	require.Equal(t, byte(formatOuter), b[len(magic)], "version 3, which earlier releases refuse")
	d, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, want, d.OuterDirectives())
	assert.Nil(t, d.Deleted())
	assert.Equal(t, s.Header, d.Header)
	assert.Equal(t, s.Body, d.Body)
	assert.Equal(t, b, d.Encode(nil), "written again as read")
	assert.Equal(t, 1.0, testing.AllocsPerRun(5, func() { _ = s.Encode(nil) }), "Encode allocates once")

	s.SetDeleted([]string{"X-Frame-Options"})
	assert.Equal(t, want, s.OuterDirectives(), "kept by SetDeleted")
	b = s.Encode(nil)
	assert.Len(t, b, s.EncodedLen())
	require.Equal(t, byte(formatOuter), b[len(magic)])
	d, err = Decode(b)
	require.NoError(t, err)
	assert.Equal(t, []string{"X-Frame-Options"}, d.Deleted())
	assert.Equal(t, want, d.OuterDirectives())

	for _, snap := range []*Snapshot{s, d} {
		w := httptest.NewRecorder()
		w.Header().Set("Cache-Control", "public, max-age=5")
		w.Header().Set("X-Frame-Options", "DENY")
		snap.Serve(w, httptest.NewRequest(http.MethodGet, "/", nil), snap.StoredAt, "", Hit)
		assert.Equal(t, []string{"public, max-age=5"}, w.Header().Values("Cache-Control"), "the writer's own, not the recorded one")
		assert.NotContains(t, w.Header(), "Cdn-Cache-Control")
		assert.NotContains(t, w.Header(), "X-Frame-Options")
	}

	f := s.Freshen(http.Header{"Cache-Control": {"max-age=30"}}, "", s.StoredAt)
	assert.Equal(t, http.Header{"Cdn-Cache-Control": {"max-age=60"}}, f.OuterDirectives(), "a field the 304 sets is stored")
	assert.Equal(t, []string{"max-age=30"}, f.Header["Cache-Control"])
	assert.Equal(t, []string{"X-Frame-Options"}, f.Deleted())
	assert.Equal(t, want, s.OuterDirectives(), "s unchanged")

	s.SetOuterDirectives(nil)
	assert.Nil(t, s.OuterDirectives())
	assert.Equal(t, byte(formatDeleted), s.Encode(nil)[len(magic)], "deletions only: version 2")
	s.SetDeleted(nil)
	assert.Nil(t, s.rare)
	assert.Equal(t, byte(formatVersion), s.Encode(nil)[len(magic)])
}

// TestDecodeOuterCorrupt: the outer directives of a version 3 snapshot are
// checked as strictly as its header.
func TestDecodeOuterCorrupt(t *testing.T) {
	s := NewSnapshot(http.StatusOK, http.Header{"X-A": {"1"}}, nil, time.Unix(1, 0))
	encode := func(outer http.Header) []byte {
		c := *s
		c.rare = &rareFields{outer: outer, outerFields: sortedFields(outer)}
		return c.Encode(nil)
	}
	_, err := Decode(encode(http.Header{"Cache-Control": {"max-age=1"}}))
	require.NoError(t, err)
	for name, outer := range map[string]http.Header{
		"not canonical":  {"cache-control": {"max-age=1"}},
		"not a token":    {"Cache Control": {"max-age=1"}},
		"a stored field": {"X-A": {"2"}},
		"a newline":      {"Cache-Control": {"max-age=1\r\nX: y"}},
		"no value":       {"Cache-Control": {}},
	} {
		_, err := Decode(encode(outer))
		assert.ErrorIs(t, err, ErrCorrupt, name)
	}
	// No outer field at all in a version 3 snapshot.
	b := encode(http.Header{"Cache-Control": {"max-age=1"}})
	section := []byte("\x0dCache-Control\x01\x09max-age=1")
	i := bytes.Index(b, section)
	require.Positive(t, i)
	// outer-bytes | field-count | value-count precede the field.
	empty := append(append(append([]byte{}, b[:i-3]...), 2, 0, 0), b[i+len(section):]...)
	_, err = Decode(empty)
	assert.ErrorIs(t, err, ErrCorrupt, "no outer directives")
	// Truncated.
	_, err = Decode(b[:len(b)-2])
	assert.ErrorIs(t, err, ErrCorrupt)
}
