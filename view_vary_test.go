package caching

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/internal/testutil"
)

// mustEncode encodes v, a snapshot or a Vary record, checking that its
// EncodedLen is exact.
func mustEncode(t testing.TB, v any) []byte {
	p, ok := v.(payloadEncoder)
	require.True(t, ok, "%T is not a view value", v)
	b := p.Encode(nil)
	require.Len(t, b, p.EncodedLen())
	return b
}

func TestViewPayloadRoundTrip(t *testing.T) {
	spec := &varySpec{names: []string{"Accept-Encoding", "Accept-Language"}, variants: []variantID{{1, 2}, {1 << 63, 5}}, until: []int64{0, 1 << 62}}
	got, err := decodeViewPayload(mustEncode(t, spec))
	require.NoError(t, err)
	assert.Equal(t, spec, got)

	// A record of version 2, without times, as an older release wrote it.
	old := []byte("HCV\x02\x01\x01A\x01\x00\x00\x00\x00\x00\x00\x00\x07")
	got, err = decodeViewPayload(old)
	require.NoError(t, err)
	assert.Equal(t, &varySpec{names: []string{"A"}, variants: []variantID{{0, 7}}}, got)
	assert.Equal(t, old, mustEncode(t, got))

	// A record of version 3: 64-bit names, with times. It is written back
	// as version 4.
	v3 := []byte("HCV\x03\x01\x01A\x01\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x09")
	got, err = decodeViewPayload(v3)
	require.NoError(t, err)
	want := &varySpec{names: []string{"A"}, variants: []variantID{{0, 7}}, until: []int64{9}}
	assert.Equal(t, want, got)
	again, err := decodeViewPayload(mustEncode(t, got))
	require.NoError(t, err)
	assert.Equal(t, want, again)
	assert.Equal(t, byte(specVersion), mustEncode(t, got)[3])

	snap := httpcache.NewSnapshot(200, http.Header{"Vary": {"Accept"}}, []byte("x"), time.Unix(1, 0))
	got, err = decodeViewPayload(mustEncode(t, snap))
	require.NoError(t, err)
	assert.Equal(t, snap.Header, got.(*httpcache.Snapshot).Header)
}

func TestDecodeViewPayloadRejects(t *testing.T) {
	for name, p := range map[string][]byte{
		"empty":              nil,
		"foreign":            []byte("{}"),
		"spec version 1":     []byte("HCV\x01\x01\x01A"),
		"spec version 5":     []byte("HCV\x05\x01\x01A\x00"),
		"spec v4 short id":   []byte("HCV\x04\x01\x01A\x01\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x09"),
		"spec negative time": []byte("HCV\x03\x01\x01A\x01\x00\x00\x00\x00\x00\x00\x00\x07\xff\x00\x00\x00\x00\x00\x00\x00"),
		"spec no times":      []byte("HCV\x03\x01\x01A\x01\x00\x00\x00\x00\x00\x00\x00\x07"),
		"spec empty":         []byte("HCV\x02\x00\x00"),
		"spec truncated":     []byte("HCV\x02\x01\x05Acc"),
		"spec unsorted":      []byte("HCV\x02\x02\x01B\x01A\x00"),
		"spec duplicate":     []byte("HCV\x02\x02\x01A\x01A\x00"),
		"spec lower-case":    []byte("HCV\x02\x01\x01a\x00"),
		"spec no variants":   []byte("HCV\x02\x01\x01A"),
		"spec short hash":    []byte("HCV\x02\x01\x01A\x01\x00\x00"),
		"spec trailing":      []byte("HCV\x02\x01\x01A\x00Z"),
		"spec too many":      []byte("HCV\x02\x7f"),
		"spec too many ids":  []byte("HCV\x02\x01\x01A\xff\xff\x01"),
		"snapshot":           []byte("HCS\x01\x00"),
		// Found by FuzzDecodeViewPayload: a name length that fits before its
		// own varint is read, not after.
		"spec name past the end": []byte("HCV\x020\x0600000"),
		// A version 4 snapshot whose outer directives hold a Content-Type
		// beside the header's valueless one (Encode never writes it):
		// decoded, a judged header would have carried the outer type.
		"snapshot v4 outer type": []byte("HCS\x04\xc8\x01\x80\xa8\xd6\xb9\aA\x03\x02\x0eContent-Length\x01\x014\fContent-Type\x00\x04Etag\x01\x18\"vry-BqnFHV0cHzkMDVWnow\"\x00\x1a\x01\x01\fContent-Type\x01\ttext/html\x04<p>x"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeViewPayload(p)
			assert.True(t, errors.Is(err, errCorrupt), "%v", err)
		})
	}
}

func FuzzDecodeViewPayload(f *testing.F) {
	f.Add(mustEncode(f, &varySpec{names: []string{"Accept"}, variants: []variantID{{0, 7}}}))
	f.Add(mustEncode(f, &varySpec{names: []string{"Accept"}, variants: []variantID{{1, 7}, {2, 8}}, until: []int64{0, 9}}))
	f.Add(mustEncode(f, httpcache.NewSnapshot(200, nil, []byte("x"), time.Unix(1, 0))))
	// Version 4: a Content-Type and a Date with no value (the seed corpus
	// in testdata/fuzz also has one this decoder refuses).
	f.Add(mustEncode(f, httpcache.NewSnapshot(200, http.Header{"Content-Type": nil, "Date": nil}, []byte("<p>x"), time.Unix(1, 0))))
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

// TestVaryRecordForgetsVariantsGone: a variant stops counting against
// MaxVariants once its entry has left the store. The record used to keep
// every variant it ever listed while others were stored again, so that
// values a client sent once kept it full, and every new variant uncached,
// for as long as the popular ones were requested (for a KeyFunc view,
// which has no path version to renew, forever).
func TestVaryRecordForgetsVariantsGone(t *testing.T) {
	for _, name := range []string{"path", "KeyFunc"} {
		t.Run(name, func(t *testing.T) {
			clock := testutil.NewClock()
			c, err := New(&Options{Backend: newSimple(t, clock), Clock: clock.Now})
			require.NoError(t, err)
			defer c.Close()
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Vary", "Accept-Language")
				fmt.Fprintf(w, "page in %s", r.Header.Get("Accept-Language"))
			})
			opts := []ViewOption{MaxVariants(3), CacheStatusHeader("X-Cache")}
			rounds := 8 // 4.5 minutes
			if name == "KeyFunc" {
				opts = append(opts, KeyFunc(func(*http.Request) string { return "home" }))
				rounds = 60 // 30 minutes
			}
			view := c.Cached(time.Minute, opts...)(h)
			lang := func(l string) string { return get(view, "/", "Accept-Language", l).Header().Get("X-Cache") }

			lang("en")
			clock.Advance(30 * time.Second)
			lang("fr")
			lang("junk") // one request: its entry leaves at 01:30
			assert.Equal(t, "MISS", lang("de"), "the record is full")
			assert.Equal(t, "MISS", lang("de"), "and de is not stored")
			for range rounds { // en and fr are stored again as they expire
				clock.Advance(30 * time.Second)
				lang("en")
				lang("fr")
			}
			lang("de")
			assert.Equal(t, "HIT", lang("de"), "junk's entry is gone: de takes its place")
		})
	}
}
