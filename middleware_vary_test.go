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

func TestViewPayloadRoundTrip(t *testing.T) {
	spec := &varySpec{names: []string{"Accept-Encoding", "Accept-Language"}}
	got, err := decodeViewPayload(encodeViewValue(spec))
	require.NoError(t, err)
	assert.Equal(t, spec, got)

	snap := httpcache.NewSnapshot(200, http.Header{"Vary": {"Accept"}}, []byte("x"), time.Unix(1, 0))
	got, err = decodeViewPayload(encodeViewValue(snap))
	require.NoError(t, err)
	assert.Equal(t, snap.Header, got.(*httpcache.Snapshot).Header)
}

func TestDecodeViewPayloadRejects(t *testing.T) {
	for name, p := range map[string][]byte{
		"empty":           nil,
		"foreign":         []byte("{}"),
		"spec version":    []byte("HCV\x02\x01\x01A"),
		"spec empty":      []byte("HCV\x01\x00"),
		"spec truncated":  []byte("HCV\x01\x01\x05Acc"),
		"spec unsorted":   []byte("HCV\x01\x02\x01B\x01A"),
		"spec duplicate":  []byte("HCV\x01\x02\x01A\x01A"),
		"spec lower-case": []byte("HCV\x01\x01\x01a"),
		"spec trailing":   []byte("HCV\x01\x01\x01AZ"),
		"spec too many":   []byte("HCV\x01\x7f"),
		"snapshot":        []byte("HCS\x01\x00"),
		// Found by FuzzDecodeViewPayload: a name length that fits before its
		// own varint is read, not after.
		"spec name past the end": []byte("HCV\x010\x0600000"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeViewPayload(p)
			assert.True(t, errors.Is(err, errCorrupt), "%v", err)
		})
	}
}

func FuzzDecodeViewPayload(f *testing.F) {
	f.Add(encodeViewValue(&varySpec{names: []string{"Accept"}}))
	f.Add(encodeViewValue(httpcache.NewSnapshot(200, nil, []byte("x"), time.Unix(1, 0))))
	f.Fuzz(func(t *testing.T, p []byte) {
		v, err := decodeViewPayload(p)
		if err != nil {
			return
		}
		again, err := decodeViewPayload(encodeViewValue(v))
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
