package caching

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// envelopeCase is an entry and the view value it holds, as a remote store
// is written.
type envelopeCase struct {
	name string
	e    entry
	v    payloadEncoder
}

func envelopeCases() []envelopeCase {
	created := int64(1_700_000_000_000_000_000)
	times := entry{Created: created, FreshUntil: created + int64(time.Minute), StaleUntil: created + int64(2*time.Minute)}
	tagged := times
	tagged.TagKeys = []string{"caching:tag:a", "caching:tag:products/" + strings.Repeat("p", 130)}
	tagged.Versions = []uint64{1, 1<<63 | 12345}
	at := time.Unix(1_700_000_000, 123456789)
	hdr := http.Header{
		"Content-Type":  {"text/html; charset=utf-8"},
		"Cache-Control": {"max-age=60"},
		"Vary":          {"Accept-Encoding"},
		"X-Multi":       {"a", "b"},
	}
	big := make([]byte, 1<<20+17)
	for i := range big {
		big[i] = byte(i * 31 % 251)
	}
	bigHdr := hdr.Clone()
	for i := range 200 {
		bigHdr.Add("X-Big", fmt.Sprintf("%03d-%s", i, strings.Repeat("v", 96)))
	}
	return []envelopeCase{
		{"snapshot/tags", tagged, httpcache.NewSnapshot(200, hdr, []byte("hello, world"), at)},
		{"snapshot/no tags", times, httpcache.NewSnapshot(200, hdr, []byte("hello, world"), at)},
		{"snapshot/empty body", tagged, httpcache.NewSnapshot(200, hdr, []byte{}, at)},
		{"snapshot/no body", times, httpcache.NewSnapshot(http.StatusNoContent, nil, nil, at)},
		{"snapshot/large body", tagged, httpcache.NewSnapshot(200, bigHdr, big, at)},
		{"snapshot/forever, before 1970", entry{Created: 1}, httpcache.NewSnapshot(404, hdr, []byte("gone"), time.Unix(-5, -7))},
		{"vary record", tagged, &varySpec{names: []string{"Accept-Encoding", "Accept-Language"}, variants: []variantID{{1, 2}, {1 << 63, 5}}, until: []int64{0, 1 << 62}}},
		{"vary record/version 2", times, &varySpec{names: []string{"Accept"}, variants: []variantID{{0, 7}}}},
	}
}

// envelopeGolden holds the length and SHA-256 of each case's entry as the
// release before in-place encoding wrote it (the payload encoded apart, then
// copied into the envelope): other processes read these bytes, so they must
// not change.
var envelopeGolden = map[string]struct {
	n   int
	sum string
}{
	"snapshot/tags":                 {396, "94b4708e8869b2cf995a0782d73c58036821df298dd481ca65a35638d40c01c1"},
	"snapshot/no tags":              {213, "0153ba39392d3d9e4322618cd4222e99802dc0cb8ccda5a12527e8b278177f30"},
	"snapshot/empty body":           {383, "16e04b35abed47c8ccf4bf11216cb33683faf2972244ad87edcbbea3e9865455"},
	"snapshot/no body":              {80, "5311fd130677cb952a7a7df6d693f6e4a8ea4483d85939c89f7f1fbec8738a06"},
	"snapshot/large body":           {1069195, "fefdb05c0e4b2046d30059c8cfd8c42c913eff2f0d8b1a485aa22b7432aba86f"},
	"snapshot/forever, before 1970": {168, "7181be6d3528df1bd093c9772963a1da6d556b304e01a3c4038947b0b553044d"},
	"vary record":                   {299, "7028167fa0332654de86d8bcaa92a1ecfe9945cf9fc63ad232ebe62d7cc1fd55"},
	"vary record/version 2":         {51, "67b3e0561296eeea2b04afb1da5613aeacf09a89bef3c4da2bf2b53e21757c22"},
}

// TestEntryEncodesPayloadInPlace: a response stored on a remote store was
// encoded (Snapshot.Encode), then copied into a second buffer of its full
// size for the entry's envelope. The snapshot (or Vary record) is now
// encoded straight into the envelope's buffer, allocated once at its exact
// size, and the bytes written are the same as before, byte for byte.
func TestEntryEncodesPayloadInPlace(t *testing.T) {
	for _, tc := range envelopeCases() {
		t.Run(tc.name, func(t *testing.T) {
			inPlace := tc.e
			inPlace.value = tc.v
			got := encodeEntry(&inPlace)

			want, ok := envelopeGolden[tc.name]
			require.True(t, ok, "no golden for %s", tc.name)
			assert.Equal(t, want.n, len(got), "length")
			assert.Equal(t, want.sum, fmt.Sprintf("%x", sha256.Sum256(got)), "the bytes the release before wrote")

			apart := tc.e
			apart.Payload = tc.v.Encode(nil)
			require.True(t, bytes.Equal(encodeEntry(&apart), got), "in place and apart differ")

			assert.Equal(t, len(got), cap(got), "the buffer is the entry's exact size")
			assert.Equal(t, 1.0, testing.AllocsPerRun(5, func() { _ = encodeEntry(&inPlace) }), "allocations per entry")

			back, err := decodeEntry(got)
			require.NoError(t, err)
			assert.Equal(t, apart.Payload, back.Payload)
		})
	}
}

// TestEntryEncodesPayloadInPlaceLengths: the payload's length prefix, and
// the snapshot's own, are written before the payload, from EncodedLen; for
// every body length around the points where a varint grows a byte, the
// entry is the one made by encoding the snapshot apart.
func TestEntryEncodesPayloadInPlaceLengths(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	body := bytes.Repeat([]byte("b"), 1<<21+64)
	tried := 0
	for _, edge := range []int{1 << 7, 1 << 14, 1 << 21} {
		for n := max(0, edge-110); n <= edge+2; n++ { // the snapshot adds 93 to 101 bytes to the body
			snap := httpcache.NewSnapshot(200, http.Header{"Content-Type": {"text/plain"}}, body[:n:n], at)
			if d := snap.EncodedLen() - edge; (d < -2 || d > 2) && (n < edge-2 || n > edge+2) {
				continue // neither the body's length nor the payload's is at the edge
			}
			tried++
			inPlace := entry{Created: 1, value: snap}
			apart := entry{Created: 1, Payload: snap.Encode(nil)}
			got := encodeEntry(&inPlace)
			if !bytes.Equal(got, encodeEntry(&apart)) || len(got) != cap(got) {
				t.Fatalf("body of %d bytes: in place %d bytes (cap %d), apart %d", n, len(got), cap(got), len(encodeEntry(&apart)))
			}
		}
	}
	assert.Equal(t, 3*2*5, tried, "bodies tried at an edge")
}
