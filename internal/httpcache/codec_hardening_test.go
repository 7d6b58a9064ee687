package httpcache

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodeRaw writes a snapshot in the version 1 format with exactly the given
// fields (name, values...), in order, and body: what a damaged or foreign
// backend entry can hold.
func encodeRaw(status uint64, body string, fields ...[]string) []byte {
	var hdr []byte
	values := 0
	for _, f := range fields {
		values += len(f) - 1
	}
	hdr = binary.AppendUvarint(hdr, uint64(len(fields)))
	hdr = binary.AppendUvarint(hdr, uint64(values))
	for _, f := range fields {
		hdr = appendString(hdr, f[0])
		hdr = binary.AppendUvarint(hdr, uint64(len(f)-1))
		for _, v := range f[1:] {
			hdr = appendString(hdr, v)
		}
	}
	b := []byte(magic)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, status)
	b = binary.AppendVarint(b, 0)
	b = binary.AppendUvarint(b, uint64(len(hdr)))
	b = append(b, hdr...)
	return appendString(b, body)
}

// TestDecodeContentLengthMismatch: a stored response whose Content-Length
// does not frame its body (a damaged entry) would be served truncated, or
// leave the client waiting for bytes that never come: Decode refuses it. A
// snapshot NewSnapshot made always decodes.
func TestDecodeContentLengthMismatch(t *testing.T) {
	ok := []struct {
		name string
		data []byte
	}{
		{"matching", encodeRaw(200, "0123456789", []string{"Content-Length", "10"})},
		{"no Content-Length", encodeRaw(200, "0123456789")},
		{"204 without body", encodeRaw(204, "")},
		{"encoded by NewSnapshot", NewSnapshot(200, hdr("Content-Length", "3"), []byte("0123456789"), t0).Encode(nil)},
		{"204 by NewSnapshot", NewSnapshot(204, hdr("Content-Length", "3"), []byte("abc"), t0).Encode(nil)},
	}
	for _, tt := range ok {
		_, err := Decode(tt.data)
		require.NoError(t, err, tt.name)
	}
	bad := []struct {
		name string
		data []byte
	}{
		{"shorter", encodeRaw(200, "0123456789", []string{"Content-Length", "5"})},
		{"longer", encodeRaw(200, "0123456789", []string{"Content-Length", "11"})},
		{"not a number", encodeRaw(200, "0123456789", []string{"Content-Length", "ten"})},
		{"two values", encodeRaw(200, "0123456789", []string{"Content-Length", "10", "5"})},
		{"204 with a body", encodeRaw(204, "abc")},
		{"204 with Content-Length", encodeRaw(204, "", []string{"Content-Length", "3"})},
	}
	for _, tt := range bad {
		_, err := Decode(tt.data)
		assert.ErrorIs(t, err, ErrCorrupt, tt.name)
	}
}
