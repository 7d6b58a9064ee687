package httpcache

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnapshotDeletedFields: the fields a handler deleted from those an
// outer middleware set (Snapshot.Deleted) are deleted from the writer's
// header by Serve and ServeRange, kept by Freshen unless the 304 sets them,
// and survive Encode and Decode in format version 2. A snapshot without
// them is still written in version 1, byte for byte as before, so that a
// release that knows version 1 only reads it; one with them is version 2,
// which such a release refuses (ErrVersion) rather than serve it without
// the deletions.
func TestSnapshotDeletedFields(t *testing.T) {
	s := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/html"}}, []byte("<p>widget</p>"), time.Unix(1700000000, 0))
	plain := s.Encode(nil)
	require.Equal(t, byte(1), plain[len(magic)], "no deletions: version 1")

	s.SetDeleted([]string{"x-frame-options", "Content-Length", "bad name", "X-Frame-Options", "Content-Security-Policy"})
	assert.Equal(t, []string{"Content-Security-Policy", "X-Frame-Options"}, s.Deleted(),
		"canonical, sorted, unique; neither a stored field nor a name that is not a token")

	b := s.Encode(nil)
	assert.Len(t, b, s.EncodedLen())
	require.Equal(t, byte(2), b[len(magic)], "with deletions: version 2, which version 1 readers refuse")
	d, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, s.Deleted(), d.Deleted())
	assert.Equal(t, s.Header, d.Header)
	assert.Equal(t, s.Body, d.Body)

	// Version 1 bytes, as the previous release wrote them, still decode.
	d1, err := Decode(plain)
	require.NoError(t, err)
	assert.Nil(t, d1.Deleted())

	for _, snap := range []*Snapshot{s, d} {
		w := httptest.NewRecorder()
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Kept", "1")
		snap.Serve(w, httptest.NewRequest(http.MethodGet, "/", nil), snap.StoredAt, "", Hit)
		assert.NotContains(t, w.Header(), "X-Frame-Options")
		assert.Equal(t, "1", w.Header().Get("X-Kept"))
		assert.Equal(t, "<p>widget</p>", w.Body.String())

		w = httptest.NewRecorder()
		w.Header().Set("X-Frame-Options", "DENY")
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Range", "bytes=0-2")
		require.True(t, snap.ServeRange(w, r, snap.StoredAt, "", Hit))
		assert.NotContains(t, w.Header(), "X-Frame-Options", "a range of it")
		assert.Equal(t, http.StatusPartialContent, w.Code)
	}

	f := s.Freshen(http.Header{"X-Frame-Options": {"SAMEORIGIN"}}, "", s.StoredAt)
	assert.Equal(t, []string{"Content-Security-Policy"}, f.Deleted(), "a field the 304 sets is stored")
	assert.Equal(t, []string{"SAMEORIGIN"}, f.Header["X-Frame-Options"])
	assert.Equal(t, s.Deleted(), s.Freshen(http.Header{"X-Other": {"1"}}, "", s.StoredAt).Deleted())
}

// TestDecodeDeletedCorrupt: the deleted names of a version 2 snapshot are
// checked as strictly as its header names.
func TestDecodeDeletedCorrupt(t *testing.T) {
	s := NewSnapshot(http.StatusOK, http.Header{"X-A": {"1"}}, nil, time.Unix(1, 0))
	valid := func(names ...string) []byte {
		c := *s
		c.rare = &rareFields{deleted: names}
		return c.Encode(nil)
	}
	_, err := Decode(valid("X-B", "X-C"))
	require.NoError(t, err)
	for name, b := range map[string][]byte{
		"unsorted":       valid("X-C", "X-B"),
		"duplicate":      valid("X-B", "X-B"),
		"not canonical":  valid("x-b"),
		"not a token":    valid("X B"),
		"empty":          valid(""),
		"a stored field": valid("X-A"),
	} {
		_, err := Decode(b)
		assert.ErrorIs(t, err, ErrCorrupt, name)
	}
	// Version 2 with no names.
	b := valid("X-B")
	i := bytes.Index(b, []byte("\x03X-B"))
	require.Positive(t, i)
	b = append(append(append([]byte{}, b[:i-1]...), 0), b[i+4:]...)
	_, err = Decode(b)
	assert.ErrorIs(t, err, ErrCorrupt, "no names")
	_, err = Decode(append([]byte(magic), maxFormatKnown+1))
	assert.ErrorIs(t, err, ErrVersion)
}

// TestSnapshotSizeClass: Decode allocates a Snapshot for every hit from a
// remote store; Deleted and OuterDirectives, which nearly no entry has,
// must not move it to a larger size class (160 bytes on 64-bit platforms,
// since both live behind one pointer).
func TestSnapshotSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit platforms")
	}
	assert.LessOrEqual(t, unsafe.Sizeof(Snapshot{}), uintptr(160))
}
