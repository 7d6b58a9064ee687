package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOuterTypedMarked: the mark that the storing request's writer had a
// Content-Type is written in version 7, alone or with the sniffed and
// transfer-coded marks, and read back as written; Freshen keeps it. A
// version 7 entry without it, or with both other marks, is corrupt; a
// snapshot without it is written as before (version 6 for a sniffed one).
func TestOuterTypedMarked(t *testing.T) {
	at := time.Unix(1e9, 0)
	body := []byte("<html><p>hi")
	for name, h := range map[string]http.Header{
		"none":    {"Cache-Control": {"max-age=60"}, "Content-Type": {"text/plain"}},
		"sniffed": {"Cache-Control": {"max-age=60"}},
		"coded":   {"Cache-Control": {"max-age=60"}, "Transfer-Encoding": {"chunked"}},
		"untyped": {"Cache-Control": {"max-age=60"}},
	} {
		s := NewSnapshot(http.StatusOK, h, body, at)
		if name == "untyped" { // the outer type left out (Sent)
			s = NewSnapshotSent(http.StatusOK, h, body, at, false, Sent{Type: true})
		}
		sniffed, coded := s.Sniffed(), s.TransferCoded()
		require.False(t, s.OuterTyped(), name)
		s.SetOuterTyped()
		require.True(t, s.OuterTyped(), name)
		assert.Equal(t, sniffed, s.Sniffed(), name)
		assert.Equal(t, coded, s.TransferCoded(), name)
		b := s.Encode(nil)
		require.Equal(t, byte(formatTyped), b[len(magic)], name)
		assert.Len(t, b, s.EncodedLen(), name)
		d, err := Decode(b)
		require.NoError(t, err, name)
		assert.True(t, d.OuterTyped(), name)
		assert.Equal(t, sniffed, d.Sniffed(), name)
		assert.Equal(t, coded, d.TransferCoded(), name)
		assert.Equal(t, b, d.Encode(nil), name+": written again as read")
		assert.True(t, d.Freshen(http.Header{"Cache-Control": {"max-age=1"}}, "", at).OuterTyped(), name+": freshened")

		flagsAt := len(b) - len(body) - 2
		for _, flags := range []byte{0, flagTransferCoded, flagSniffed, flagOuterTyped | flagTransferCoded | flagSniffed, 8 | flagOuterTyped} {
			bad := append([]byte{}, b...)
			bad[flagsAt] = flags
			_, err := Decode(bad)
			assert.ErrorIs(t, err, ErrCorrupt, "%s: flags %d", name, flags)
		}
	}
	s := NewSnapshot(http.StatusOK, http.Header{}, body, at)
	b := s.Encode(nil)
	require.Equal(t, byte(formatSniffed), b[len(magic)], "no mark: as before")
	d, err := Decode(b)
	require.NoError(t, err)
	assert.False(t, d.OuterTyped())
}

// TestOtherTypeForm: a hit runs the handler where its writer has a type and
// the storing request's had none, and the stored type is the handler's
// (an older entry's too), or the reverse where the entry holds no type;
// every other pairing is served.
func TestOtherTypeForm(t *testing.T) {
	at := time.Unix(1e9, 0)
	body := []byte("<html><p>hi")
	handlers := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/html"}}, body, at)
	sniffed := NewSnapshot(http.StatusOK, http.Header{}, body, at)
	handlersNil := NewSnapshot(http.StatusOK, http.Header{"Content-Type": nil}, body, at)
	none := NewSnapshotSent(http.StatusOK, http.Header{}, body, at, false, Sent{Type: true})
	outer := func(s *Snapshot) *Snapshot {
		c := NewSnapshotSent(s.Status, s.Header, s.Body, at, false, Sent{Type: true})
		c.rare = nil
		if s.Sniffed() {
			c.SetSniffed()
		}
		c.SetOuterTyped()
		return c
	}
	empty, typed, typedNil, other := http.Header{}, http.Header{"Content-Type": {"text/plain"}}, http.Header{"Content-Type": nil}, http.Header{"X": {"y"}}
	for _, c := range []struct {
		name string
		s    *Snapshot
		h    http.Header
		want bool
	}{
		{"handler's type, no outer", handlers, empty, false},
		{"handler's type, no outer, other fields", handlers, other, false},
		{"handler's type, outer", handlers, typed, true},
		{"handler's nil type, outer nil", handlersNil, typedNil, true},
		{"sniffed type, outer", sniffed, typed, false},
		{"sniffed type, no outer", sniffed, empty, false},
		{"stored with outer, handler's type, none now", outer(handlers), empty, false},
		{"stored with outer, handler's type, outer", outer(handlers), typed, false},
		{"stored with outer, no type, none now", outer(none), empty, true},
		{"stored with outer, no type, none now, other fields", outer(none), other, true},
		{"stored with outer, no type, outer", outer(none), typed, false},
		{"stored with outer, no type, outer nil", outer(none), typedNil, false},
		{"no type, no outer, outer now", none, typed, false},
	} {
		assert.Equal(t, c.want, c.s.OtherTypeForm(c.h), c.name)
	}
	outerNone := outer(none)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		handlers.OtherTypeForm(typed)
		outerNone.OtherTypeForm(empty)
	}), "no allocation")
}
