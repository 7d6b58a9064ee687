package caching

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// mustEncode is encodeViewValue for a value it can encode.
func mustEncode(t testing.TB, v any) []byte {
	b, err := encodeViewValue(v)
	require.NoError(t, err)
	return b
}

func TestViewPayloadRoundTrip(t *testing.T) {
	spec := &varySpec{names: []string{"Accept-Encoding", "Accept-Language"}, variants: []uint64{1, 1 << 63}}
	got, err := decodeViewPayload(mustEncode(t, spec))
	require.NoError(t, err)
	assert.Equal(t, spec, got)

	snap := httpcache.NewSnapshot(200, http.Header{"Vary": {"Accept"}}, []byte("x"), time.Unix(1, 0))
	got, err = decodeViewPayload(mustEncode(t, snap))
	require.NoError(t, err)
	assert.Equal(t, snap.Header, got.(*httpcache.Snapshot).Header)
}

func TestDecodeViewPayloadRejects(t *testing.T) {
	for name, p := range map[string][]byte{
		"empty":             nil,
		"foreign":           []byte("{}"),
		"spec version 1":    []byte("HCV\x01\x01\x01A"),
		"spec version 3":    []byte("HCV\x03\x01\x01A\x00"),
		"spec empty":        []byte("HCV\x02\x00\x00"),
		"spec truncated":    []byte("HCV\x02\x01\x05Acc"),
		"spec unsorted":     []byte("HCV\x02\x02\x01B\x01A\x00"),
		"spec duplicate":    []byte("HCV\x02\x02\x01A\x01A\x00"),
		"spec lower-case":   []byte("HCV\x02\x01\x01a\x00"),
		"spec no variants":  []byte("HCV\x02\x01\x01A"),
		"spec short hash":   []byte("HCV\x02\x01\x01A\x01\x00\x00"),
		"spec trailing":     []byte("HCV\x02\x01\x01A\x00Z"),
		"spec too many":     []byte("HCV\x02\x7f"),
		"spec too many ids": []byte("HCV\x02\x01\x01A\xff\xff\x01"),
		"snapshot":          []byte("HCS\x01\x00"),
		// Found by FuzzDecodeViewPayload: a name length that fits before its
		// own varint is read, not after.
		"spec name past the end": []byte("HCV\x020\x0600000"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeViewPayload(p)
			assert.True(t, errors.Is(err, errCorrupt), "%v", err)
		})
	}
}

func FuzzDecodeViewPayload(f *testing.F) {
	f.Add(mustEncode(f, &varySpec{names: []string{"Accept"}, variants: []uint64{7}}))
	f.Add(mustEncode(f, httpcache.NewSnapshot(200, nil, []byte("x"), time.Unix(1, 0))))
	f.Fuzz(func(t *testing.T, p []byte) {
		v, err := decodeViewPayload(p)
		if err != nil {
			return
		}
		again, err := decodeViewPayload(mustEncode(t, v))
		require.NoError(t, err)
		if s, ok := v.(*varySpec); ok {
			require.Equal(t, s, again)
		}
	})
}

func TestCachedVaryHEAD(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{fn: vary("Accept-Language")}
		ch := e.c.Cached(time.Minute)(h)
		get(ch, "/", "Accept-Language", "en")
		w := send(ch, http.MethodHead, "/", "Accept-Language", "en")
		assert.EqualValues(t, 1, h.calls.Load(), "HEAD answered from the GET variant")
		assert.Empty(t, w.Body.String())
		send(ch, http.MethodHead, "/", "Accept-Language", "fr")
		assert.EqualValues(t, 2, h.calls.Load(), "another variant is a miss")
	})
}
