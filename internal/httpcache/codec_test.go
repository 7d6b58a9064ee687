package httpcache

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleSnapshot() *Snapshot {
	h := http.Header{
		"Content-Type":  {"application/json"},
		"x-lower":       {"a", "b"},
		"Cache-Control": {"max-age=60"},
		"Connection":    {"close, X-Hop"},
		"X-Hop":         {"dropped"},
		"Set-Cookie":    {"never=stored"},
		"Age":           {"99"},
		"Last-Modified": {"Mon, 02 Jan 2006 15:04:05 GMT"},
	}
	return NewSnapshot(200, h, []byte(`{"ok":true}`), time.Unix(1700000000, 123))
}

func TestNewSnapshot(t *testing.T) {
	s := sampleSnapshot()
	assert.Equal(t, []string{"a", "b"}, s.Header["X-Lower"], "keys canonicalized")
	for _, k := range []string{"Connection", "X-Hop", "Set-Cookie", "Age"} {
		assert.NotContains(t, s.Header, k)
	}
	assert.Equal(t, []string{"11"}, s.Header["Content-Length"])
	assert.Equal(t, BodyETag([]byte(`{"ok":true}`)), s.ETag)
	assert.Equal(t, []string{s.ETag}, s.Header["Etag"])
	assert.Len(t, s.ETag, 24)
	assert.Equal(t, time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC), s.LastModified.UTC())
	for k, vs := range s.Header {
		assert.Equal(t, len(vs), cap(vs), k)
	}

	t.Run("handler ETag kept", func(t *testing.T) {
		s := NewSnapshot(200, http.Header{"ETag": {`W/"v1"`}}, []byte("x"), time.Now())
		assert.Equal(t, `W/"v1"`, s.ETag)
	})
	t.Run("no ETag for a 404", func(t *testing.T) {
		s := NewSnapshot(404, nil, []byte("gone"), time.Now())
		assert.Empty(t, s.ETag)
		assert.Equal(t, []string{"4"}, s.Header["Content-Length"])
	})
	t.Run("204 has no body nor length", func(t *testing.T) {
		s := NewSnapshot(204, http.Header{"Content-Length": {"3"}}, []byte("abc"), time.Now())
		assert.Nil(t, s.Body)
		assert.NotContains(t, s.Header, "Content-Length")
	})
	t.Run("wrong Content-Length replaced", func(t *testing.T) {
		s := NewSnapshot(200, http.Header{"Content-Length": {"300"}}, []byte("abc"), time.Now())
		assert.Equal(t, []string{"3"}, s.Header["Content-Length"])
	})
	t.Run("hop-by-hop in any spelling dropped, spellings merged in order", func(t *testing.T) {
		s := NewSnapshot(200, http.Header{
			"connection": {"x-hop"}, "X-HOP": {"1"}, "set-cookie": {"a=1"}, "AGE": {"3"},
			"x-b": {"2"}, "X-B": {"1"}, "X-b": {"3"},
		}, nil, time.Now())
		for _, k := range []string{"Connection", "X-Hop", "Set-Cookie", "Age"} {
			assert.NotContains(t, s.Header, k)
		}
		assert.Equal(t, []string{"1", "3", "2"}, s.Header["X-B"], "canonical key first, then the others sorted")
		assert.NotContains(t, s.Header, "x-b")
	})
	t.Run("input header not modified", func(t *testing.T) {
		h := http.Header{"X-A": make([]string, 1, 4)}
		h["X-A"][0] = "v"
		s := NewSnapshot(200, h, nil, time.Now())
		h["X-A"][0] = "changed"
		assert.Equal(t, []string{"v"}, s.Header["X-A"])
	})
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for name, s := range map[string]*Snapshot{
		"sample":     sampleSnapshot(),
		"empty body": NewSnapshot(200, nil, nil, time.Unix(5, 0)),
		"301":        NewSnapshot(301, http.Header{"Location": {"/x"}}, nil, time.Unix(-5, 0)),
		"large":      NewSnapshot(200, http.Header{"Content-Type": {"text/plain"}}, bytes.Repeat([]byte("x"), 1<<20), time.Now()),
	} {
		t.Run(name, func(t *testing.T) {
			data := s.Encode(nil)
			got, err := Decode(data)
			require.NoError(t, err)
			assertSameSnapshot(t, s, got)
			assert.Equal(t, data, got.Encode(nil), "encoding is canonical")
			for k, vs := range got.Header {
				assert.Equal(t, len(vs), cap(vs), k)
			}
			assert.Equal(t, len(got.Body), cap(got.Body), "body must not be appendable into data")
		})
	}
	t.Run("appends to dst", func(t *testing.T) {
		s := sampleSnapshot()
		data := s.Encode([]byte("prefix"))
		assert.Equal(t, "prefix", string(data[:6]))
		_, err := Decode(data[6:])
		require.NoError(t, err)
	})
	t.Run("zero Snapshot encodes", func(t *testing.T) {
		s := &Snapshot{Status: 200, Header: http.Header{"B": {"2"}, "A": {"1"}}}
		got, err := Decode(s.Encode(nil))
		require.NoError(t, err)
		assert.Equal(t, s.Header, got.Header)
	})
}

func assertSameSnapshot(t *testing.T, want, got *Snapshot) {
	t.Helper()
	assert.Equal(t, want.Status, got.Status)
	assert.Equal(t, want.Header, got.Header)
	assert.Equal(t, string(want.Body), string(got.Body))
	assert.True(t, want.StoredAt.Equal(got.StoredAt), "%v != %v", want.StoredAt, got.StoredAt)
	assert.Equal(t, want.ETag, got.ETag)
	assert.True(t, want.LastModified.Equal(got.LastModified))
}

func TestDecodeCorrupt(t *testing.T) {
	good := sampleSnapshot().Encode(nil)
	// build assembles a snapshot by hand from a raw header section.
	build := func(status uint64, hdr []byte, body string, trailing string) []byte {
		b := []byte(magic)
		b = append(b, formatVersion)
		b = binary.AppendUvarint(b, status)
		b = binary.AppendVarint(b, 0)
		b = binary.AppendUvarint(b, uint64(len(hdr)))
		b = append(b, hdr...)
		b = appendString(b, body)
		return append(b, trailing...)
	}
	hdr := func(fields ...[]string) []byte {
		var b []byte
		values := 0
		for _, f := range fields {
			values += len(f) - 1
		}
		b = binary.AppendUvarint(b, uint64(len(fields)))
		b = binary.AppendUvarint(b, uint64(values))
		for _, f := range fields {
			b = appendString(b, f[0])
			b = binary.AppendUvarint(b, uint64(len(f)-1))
			for _, v := range f[1:] {
				b = appendString(b, v)
			}
		}
		return b
	}
	require.NotPanics(t, func() { _, err := Decode(build(200, hdr([]string{"A", "1"}), "x", "")); require.NoError(t, err) })

	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte("XXX"), good[3:]...)},
		{"truncated everywhere", nil}, // checked below for every prefix
		{"trailing bytes", append(append([]byte{}, good...), 0)},
		{"status 0", build(0, hdr(), "", "")},
		{"status 1000", build(1000, hdr(), "", "")},
		{"unsorted names", build(200, hdr([]string{"B", "1"}, []string{"A", "1"}), "", "")},
		{"duplicate names", build(200, hdr([]string{"A", "1"}, []string{"A", "2"}), "", "")},
		{"non-canonical name", build(200, hdr([]string{"x-a", "1"}), "", "")},
		{"empty name", build(200, hdr([]string{"", "1"}), "", "")},
		{"name with colon", build(200, hdr([]string{"A:b", "1"}), "", "")},
		{"field without values", build(200, hdr([]string{"A"}), "", "")},
		{"value with CRLF", build(200, hdr([]string{"A", "1\r\nSet-Cookie: x"}), "", "")},
		{"value with NUL", build(200, hdr([]string{"A", "1\x00"}), "", "")},
		{"huge field count", build(200, binary.AppendUvarint(nil, 1<<60), "", "")},
		{"huge value count", build(200, append(binary.AppendUvarint(nil, 0), binary.AppendUvarint(nil, 1<<40)...), "", "")},
		{"value count mismatch", build(200, append(hdr([]string{"A", "1"})[:1], append([]byte{2}, hdr([]string{"A", "1"})[2:]...)...), "", "")},
		{"trailing header bytes", build(200, append(hdr([]string{"A", "1"}), 7), "", "")},
		{"overlong varint", append([]byte("HCS\x01"), bytes.Repeat([]byte{0xff}, 11)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			assert.ErrorIs(t, err, ErrCorrupt)
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for i := range len(good) {
			_, err := Decode(good[:i])
			require.ErrorIs(t, err, ErrCorrupt, "prefix %d", i)
		}
	})
	t.Run("unknown version", func(t *testing.T) {
		bad := append([]byte{}, good...)
		bad[3] = maxFormatKnown + 1
		_, err := Decode(bad)
		assert.ErrorIs(t, err, ErrVersion)
		assert.NotErrorIs(t, err, ErrCorrupt)
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(sampleSnapshot().Encode(nil))
	f.Add(NewSnapshot(404, nil, nil, time.Unix(0, 0)).Encode(nil))
	f.Add([]byte("HCS\x01"))
	// Versions 2 and 3: deleted fields, and the outer directives.
	rare := NewSharedSnapshot(200, http.Header{"Etag": {`"x"`}, "Content-Type": {"text/plain"}}, []byte("body"), time.Unix(1700000000, 0))
	rare.SetDeleted([]string{"Content-Security-Policy", "X-Frame-Options"})
	f.Add(rare.Encode(nil))
	rare.SetOuterDirectives(http.Header{"Cache-Control": {"public, max-age=10", "s-maxage=5"}, "Cdn-Cache-Control": {"max-age=60"}, "Expires": {"0"}})
	f.Add(rare.Encode(nil))
	rare.SetDeleted(nil)
	f.Add(rare.Encode(nil))
	// Version 4: a suppressed Content-Type.
	untyped := NewSnapshot(200, http.Header{"Content-Type": nil}, []byte("<p>body"), time.Unix(1700000000, 0))
	f.Add(untyped.Encode(nil))
	untyped.SetOuterDirectives(http.Header{"Cache-Control": {"max-age=10"}})
	f.Add(untyped.Encode(nil))
	// Version 5: a type sniffed for a handler that set a Transfer-Encoding.
	f.Add(NewSnapshot(200, http.Header{"Transfer-Encoding": {"chunked"}, "Date": nil}, []byte("<p>body"), time.Unix(1700000000, 0)).Encode(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if s != nil {
				t.Fatal("snapshot with error")
			}
			return
		}
		enc := s.Encode(nil)
		if len(enc) != s.EncodedLen() {
			t.Fatalf("encoded %d bytes, EncodedLen says %d", len(enc), s.EncodedLen())
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
		if again.Status != s.Status || !again.StoredAt.Equal(s.StoredAt) || !bytes.Equal(again.Body, s.Body) || len(again.Header) != len(s.Header) {
			t.Fatal("round trip changed the snapshot")
		}
		for k, vs := range s.Header {
			if len(vs) != cap(vs) {
				t.Fatalf("%s: cap %d != len %d", k, cap(vs), len(vs))
			}
		}
		if !reflect.DeepEqual(again.Deleted(), s.Deleted()) || !reflect.DeepEqual(again.OuterDirectives(), s.OuterDirectives()) {
			t.Fatal("round trip changed the deleted fields or the outer directives")
		}
		if again.TransferCoded() != s.TransferCoded() || s.TransferCoded() && len(s.Header["Content-Type"]) == 0 {
			t.Fatal("round trip changed the transfer-coded mark, or it marks no type")
		}
		// The outer directives are judged, never stored nor served.
		judged := s.JudgedHeader()
		w := httptest.NewRecorder()
		s.Serve(w, httptest.NewRequest(http.MethodGet, "/", nil), s.StoredAt, "", Hit)
		for k := range s.OuterDirectives() {
			if len(s.Header[k]) > 0 || len(judged[k]) == 0 || len(w.Header()[k]) > 0 {
				t.Fatalf("outer %s stored, not judged or served", k)
			}
		}
	})
}
