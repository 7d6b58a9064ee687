package httpcache

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSniffedTypeMarked: the type NewSnapshot sniffs is marked (version 6,
// read back marked), the handler's is not (version 1, as before), nor is
// a nil-valued one the handler set; Freshen keeps the mark unless the 304
// sends a type. A version 6 entry with other flags, or without a
// Content-Type key, is corrupt; one of version 1 with the same type reads
// as not marked.
func TestSniffedTypeMarked(t *testing.T) {
	at := time.Unix(1e9, 0)
	body := []byte("<html><p>hi")
	sniffed := NewSnapshot(http.StatusOK, http.Header{"Cache-Control": {"max-age=60"}}, body, at)
	require.True(t, sniffed.Sniffed())
	assert.False(t, sniffed.TransferCoded())
	b := sniffed.Encode(nil)
	require.Equal(t, byte(formatSniffed), b[len(magic)])
	assert.Len(t, b, sniffed.EncodedLen())
	d, err := Decode(b)
	require.NoError(t, err)
	assert.True(t, d.Sniffed())
	assert.Equal(t, sniffed.Header, d.Header)
	assert.Equal(t, b, d.Encode(nil), "written again as read")

	for name, h := range map[string]http.Header{
		"typed":   {"Content-Type": {"text/html; charset=utf-8"}},
		"untyped": {"Content-Type": nil},
	} {
		s := NewSnapshot(http.StatusOK, h, body, at)
		assert.False(t, s.Sniffed(), name)
		assert.Less(t, s.Encode(nil)[len(magic)], byte(formatCoded), name)
	}

	shared := NewSharedSnapshot(http.StatusOK, http.Header{"Etag": {`"x"`}}, body, at)
	require.True(t, shared.Sniffed())
	assert.True(t, shared.Freshen(http.Header{"Cache-Control": {"max-age=1"}}, "", at).Sniffed(), "freshened")
	assert.False(t, shared.Freshen(http.Header{"Content-Type": {"a/b"}}, "", at).Sniffed(), "retyped by the 304")

	// The flags field is the byte before the body's length and body.
	flagsAt := len(b) - len(body) - 2
	require.Equal(t, byte(flagSniffed), b[flagsAt])
	for _, flags := range []byte{0, flagTransferCoded, 3} {
		bad := append([]byte{}, b...)
		bad[flagsAt] = flags
		_, err := Decode(bad)
		assert.ErrorIs(t, err, ErrCorrupt, "flags %d", flags)
	}
	typed := NewSnapshot(http.StatusOK, http.Header{"Cache-Control": {"max-age=60"}, "Content-Type": {"a/b"}}, body, at)
	typed.SetSniffed()
	require.True(t, typed.Sniffed())
	untyped := *typed
	untyped.Header = http.Header{"Cache-Control": {"max-age=60"}, "Content-Length": typed.Header["Content-Length"], "Etag": typed.Header["Etag"]}
	untyped.fields = nil
	_, err = Decode(untyped.Encode(nil))
	assert.ErrorIs(t, err, ErrCorrupt, "marked without a Content-Type")
	assert.ErrorContains(t, err, "without a Content-Type")

	old := NewSnapshot(http.StatusOK, http.Header{}, body, at)
	old.rare = nil // as stored before the mark
	ob := old.Encode(nil)
	require.Equal(t, byte(formatVersion), ob[len(magic)])
	d, err = Decode(ob)
	require.NoError(t, err)
	assert.False(t, d.Sniffed(), "an older entry's type is taken for the handler's")
	ob[len(magic)] = formatSniffed
	_, err = Decode(ob)
	assert.ErrorIs(t, err, ErrCorrupt, "version 6 without its flags")
}

// TestServeKeepsTheOuterFieldsOverSniffedOnes: a hit whose writer's header
// has a Content-Type (an outer middleware's, nil-valued too) keeps it over
// a sniffed type, and an ETag over a computed one, on a 304 too; a header
// without them gets the stored ones; the handler's own type and tag, and
// an older entry's type, are sent over the outer middleware's, as the
// miss sent the handler's.
func TestServeKeepsTheOuterFieldsOverSniffedOnes(t *testing.T) {
	at := time.Unix(1e9, 0)
	body := []byte("<html><script>x()</script>")
	serve := func(s *Snapshot, outer http.Header, inm string) http.Header {
		w := httptest.NewRecorder()
		for k, vs := range outer {
			w.Header()[k] = vs
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		s.Serve(w, r, at, "", Hit)
		return w.Header()
	}
	plain := []string{"text/plain; charset=utf-8"}
	outer := http.Header{"Content-Type": plain, "Etag": {`"outer"`}}
	sniffed := NewSnapshot(http.StatusOK, http.Header{}, body, at)
	for _, s := range []*Snapshot{sniffed, mustDecode(t, sniffed.Encode(nil))} {
		h := serve(s, outer, "")
		assert.Equal(t, plain, h["Content-Type"], "the outer type")
		assert.Equal(t, []string{`"outer"`}, h["Etag"], "the outer tag")
		h = serve(s, http.Header{"Content-Type": nil}, "")
		v, ok := h["Content-Type"]
		assert.True(t, ok && v == nil, "an outer nil-valued type: net/http sniffs none")
		h = serve(s, http.Header{"X-Other": {"1"}}, "")
		assert.Equal(t, []string{"text/html; charset=utf-8"}, h["Content-Type"], "no outer type")
		assert.Equal(t, []string{BodyETag(body)}, h["Etag"], "no outer tag")
		h = serve(s, outer, BodyETag(body))
		assert.Equal(t, []string{`"outer"`}, h["Etag"], "a 304 keeps the outer tag")
	}
	own := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/html"}, "Etag": {`"own"`}}, body, at)
	h := serve(own, outer, "")
	assert.Equal(t, []string{"text/html"}, h["Content-Type"], "the handler's type")
	assert.Equal(t, []string{`"own"`}, h["Etag"], "the handler's tag")
	old := NewSnapshot(http.StatusOK, http.Header{}, body, at)
	old.rare = nil // as stored before the mark
	assert.Equal(t, []string{"text/html; charset=utf-8"}, serve(old, outer, "")["Content-Type"], "an older entry: as before")

	// A flushed response's type, recorded at its first flush, once marked.
	flushed := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, body, at)
	flushed.SetSniffed()
	assert.Equal(t, []string{"application/json"}, serve(flushed, http.Header{"Content-Type": {"application/json"}}, "")["Content-Type"])
}

// TestServeSniffedCostsNothingMore: a hit of a sniffed entry allocates no
// more than one of a typed entry, with an outer type or without; decoding
// it, no more often.
func TestServeSniffedCostsNothingMore(t *testing.T) {
	at := time.Unix(1e9, 0)
	body := []byte("<html><p>hi")
	sniffed := NewSnapshot(http.StatusOK, http.Header{}, body, at)
	typed := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/html; charset=utf-8"}}, body, at)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	plain := []string{"text/plain"}
	for _, outer := range []bool{false, true} {
		n := testing.AllocsPerRun(100, func() {
			clear(w.Header())
			if outer {
				w.Header()["Content-Type"] = plain
			}
			sniffed.Serve(w, r, at, "", Hit)
		})
		assert.Zero(t, n, "outer=%v", outer)
	}
	decodes := func(b []byte) float64 {
		return testing.AllocsPerRun(100, func() { _, _ = Decode(b) })
	}
	assert.Equal(t, decodes(typed.Encode(nil)), decodes(sniffed.Encode(nil)))
}

func mustDecode(t *testing.T, b []byte) *Snapshot {
	t.Helper()
	s, err := Decode(b)
	require.NoError(t, err)
	return s
}
