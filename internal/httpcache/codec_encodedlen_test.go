package httpcache

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodeApart is Encode as it was before it wrote in place: the header
// section built in a buffer of its own, then copied after its length. The
// format is read by other processes; Encode must keep writing these bytes.
// A Sniffed snapshot (version 6) has its three sections after the header:
// no deleted name, an empty outer section, flags 2.
func encodeApart(s *Snapshot, dst []byte) []byte {
	fields := s.sortedFields()
	var hdr []byte
	values := 0
	for _, f := range fields {
		values += len(f.values)
	}
	hdr = binary.AppendUvarint(hdr, uint64(len(fields)))
	hdr = binary.AppendUvarint(hdr, uint64(values))
	for _, f := range fields {
		hdr = appendString(hdr, f.name)
		hdr = binary.AppendUvarint(hdr, uint64(len(f.values)))
		for _, v := range f.values {
			hdr = appendString(hdr, v)
		}
	}
	dst = append(dst, magic...)
	if s.Sniffed() {
		dst = append(dst, formatSniffed)
	} else {
		dst = append(dst, formatVersion)
	}
	dst = binary.AppendUvarint(dst, uint64(s.Status))
	dst = binary.AppendVarint(dst, s.StoredAt.UnixNano())
	dst = binary.AppendUvarint(dst, uint64(len(hdr)))
	dst = append(dst, hdr...)
	if s.Sniffed() {
		dst = append(dst, 0, byte(len(emptySection)))
		dst = append(dst, emptySection...)
		dst = append(dst, flagSniffed)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.Body)))
	return append(dst, s.Body...)
}

// TestEncodeInPlace: Encode writes the header section in place, after its
// length computed first, and allocates at most once, for EncodedLen, the
// exact length of the encoding, on which the cache sizes an entry's buffer
// (a dst with that room is not grown); the bytes are those the encoding
// wrote when it built the header apart.
func TestEncodeInPlace(t *testing.T) {
	at := time.Unix(1_700_000_000, 123)
	snaps := map[string]*Snapshot{
		"sample":          sampleSnapshot(),
		"empty body":      NewSnapshot(200, nil, []byte{}, at),
		"no body":         NewSnapshot(204, nil, nil, at),
		"before 1970":     NewSnapshot(404, nil, []byte("x"), time.Unix(-1, -1)),
		"zero time":       NewSnapshot(200, nil, []byte("x"), time.Time{}),
		"typed":           NewSnapshot(200, http.Header{"Content-Type": {"a/b"}}, []byte("x"), at),
		"large body":      NewSnapshot(200, nil, bytes.Repeat([]byte("b"), 1<<21+3), at),
		"not by NewSnap":  {Status: 200, Header: http.Header{"B": {"2"}, "A": {"1", "1b"}}, Body: []byte("lit")},
		"status past 127": NewSnapshot(999, nil, nil, at),
	}
	for name, s := range snaps {
		t.Run(name, func(t *testing.T) {
			want := encodeApart(s, nil)
			got := s.Encode(nil)
			require.Equal(t, want, got, "bytes")
			assert.Equal(t, len(got), s.EncodedLen(), "EncodedLen")
			assert.Equal(t, len(got), cap(got), "Encode(nil) sized once, exactly")
			assert.Equal(t, encodeApart(s, []byte("prefix")), s.Encode([]byte("prefix")), "appended to dst")

			buf := make([]byte, 3, 3+s.EncodedLen())
			assert.Equal(t, &buf[:1][0], &s.Encode(buf)[0], "dst with the room is not grown")
			if s.fields != nil || len(s.Header) == 0 {
				assert.Equal(t, 1.0, testing.AllocsPerRun(5, func() { _ = s.Encode(nil) }), "allocations")
			}
		})
	}
	// Header sections of every length around the points where their
	// length's varint grows a byte (the value's own length crosses 128 on
	// the way to the first).
	crossed := map[int]bool{}
	for _, r := range [][2]int{{40, 140}, {16250, 16400}} {
		for n := r[0]; n <= r[1]; n++ {
			// No body: nothing sniffed, the header is X-V, Content-Length
			// and ETag.
			s := NewSnapshot(200, http.Header{"X-V": {strings.Repeat("v", n)}}, nil, at)
			hl, _ := headerLen(s.fields)
			crossed[hl] = true
			if got := s.Encode(nil); !bytes.Equal(got, encodeApart(s, nil)) || len(got) != s.EncodedLen() {
				t.Fatalf("a value of %d bytes: %d bytes, EncodedLen %d, apart %d", n, len(got), s.EncodedLen(), len(encodeApart(s, nil)))
			}
		}
	}
	for _, hl := range []int{127, 128, 16383, 16384} {
		assert.True(t, crossed[hl], "no header section of %d bytes", hl)
	}
}
