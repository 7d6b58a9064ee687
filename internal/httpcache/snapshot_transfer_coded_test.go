package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var transferCodedBody = []byte(strings.Repeat("<p>hello</p>\n", 100))

const htmlType = "text/html; charset=utf-8"

// servedTypes serves s to a GET and a HEAD over net/http's HTTP/1.1 server
// (s.Serve as its handler), and returns the Content-Type each response
// had: nil for none.
func servedTypes(t *testing.T, s *Snapshot, kv ...string) (get, head []string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ServeRange(w, r, s.StoredAt, "", Hit) {
			s.Serve(w, r, s.StoredAt, "", Hit)
		}
	}))
	defer srv.Close()
	sent := func(method string) []string {
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, 1, resp.ProtoMajor)
		return resp.Header["Content-Type"]
	}
	return sent(http.MethodGet), sent(http.MethodHead)
}

// TestSnapshotOfATransferCodedResponse: net/http's HTTP/1.x server sniffs
// no Content-Type for a handler that sets a Transfer-Encoding (the first
// value, not blank), its HTTP/2 server sniffs one. The snapshot stores the
// sniffed type, as before, and marks it TransferCoded (format version 5):
// served to net/http's HTTP/1.x server, a GET, a HEAD and a range send
// none; served to any other writer (an httptest.ResponseRecorder here, a
// middleware or the HTTP/2 server in a real chain), the type. A type the
// handler set, a nil-valued one, an encoded body and a blank field are
// not marked.
func TestSnapshotOfATransferCodedResponse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     http.Header
		coded bool
		typ   []string // stored, and sent to other writers
	}{
		{"chunked", http.Header{"Transfer-Encoding": {"chunked"}}, true, []string{htmlType}},
		{"identity", http.Header{"Transfer-Encoding": {"identity"}}, true, []string{htmlType}},
		{"typed", http.Header{"Transfer-Encoding": {"chunked"}, "Content-Type": {"a/b"}}, false, []string{"a/b"}},
		{"untyped", http.Header{"Transfer-Encoding": {"chunked"}, "Content-Type": nil}, false, nil},
		{"encoded", http.Header{"Transfer-Encoding": {"chunked"}, "Content-Encoding": {"gzip"}}, false, nil},
		{"blank", http.Header{"Transfer-Encoding": {""}}, false, []string{htmlType}},
		{"none", http.Header{}, false, []string{htmlType}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range []*Snapshot{
				NewSnapshot(http.StatusOK, tc.h, transferCodedBody, time.Unix(1e9, 0)),
				NewSharedSnapshot(http.StatusOK, tc.h, transferCodedBody, time.Unix(1e9, 0)),
			} {
				assert.NotContains(t, s.Header, "Transfer-Encoding", "hop-by-hop")
				assert.Equal(t, tc.typ, s.Header["Content-Type"])
				assert.Equal(t, tc.coded, s.TransferCoded())
				b := s.Encode(nil)
				assert.Len(t, b, s.EncodedLen())
				sniffed := tc.h["Content-Type"] == nil && !tc.coded && tc.typ != nil
				assert.Equal(t, tc.coded || sniffed, s.Sniffed(), "a sniffed type")
				switch {
				case tc.coded:
					assert.Equal(t, byte(formatCoded), b[len(magic)], "version 5")
				case sniffed:
					assert.Equal(t, byte(formatSniffed), b[len(magic)], "version 6")
				default:
					assert.Less(t, b[len(magic)], byte(formatCoded))
				}
				d, err := Decode(b)
				require.NoError(t, err)
				assert.Equal(t, tc.coded, d.TransferCoded(), "decoded")
				assert.Equal(t, s.Sniffed(), d.Sniffed(), "decoded")
				assert.Equal(t, s.Header, d.Header, "decoded")
				assert.Equal(t, b, d.Encode(nil), "written again as read")

				for _, snap := range []*Snapshot{s, d} {
					for _, method := range []string{http.MethodGet, http.MethodHead} {
						w := httptest.NewRecorder()
						snap.Serve(w, httptest.NewRequest(method, "/", nil), snap.StoredAt, "", Hit)
						assert.Equal(t, tc.typ, w.Header()["Content-Type"], "%s to another writer", method)
					}
					want := tc.typ
					if tc.coded {
						want = nil
					}
					get, head := servedTypes(t, snap)
					assert.Equal(t, want, get, "GET over HTTP/1.1")
					assert.Equal(t, want, head, "HEAD over HTTP/1.1")
					rng, _ := servedTypes(t, snap, "Range", "bytes=0-9")
					assert.Equal(t, want, rng, "a range over HTTP/1.1")
				}
			}
		})
	}
}

// TestTransferCodedSurvivesRareFieldsAndFreshen: the mark is kept by
// SetDeleted and SetOuterDirectives (versions 2 and 3 under version 5) and
// by a revalidation's Freshen, unless the 304 sends a Content-Type of its
// own: that is the origin's type, not a sniffed one.
func TestTransferCodedSurvivesRareFieldsAndFreshen(t *testing.T) {
	s := NewSharedSnapshot(http.StatusOK, http.Header{"Transfer-Encoding": {"chunked"}, "Etag": {`"x"`}}, transferCodedBody, time.Unix(1e9, 0))
	s.SetDeleted([]string{"X-Frame-Options"})
	s.SetOuterDirectives(http.Header{"Cache-Control": {"max-age=10"}})
	require.True(t, s.TransferCoded())
	b := s.Encode(nil)
	require.Equal(t, byte(formatCoded), b[len(magic)])
	d, err := Decode(b)
	require.NoError(t, err)
	assert.True(t, d.TransferCoded())
	assert.Equal(t, []string{"X-Frame-Options"}, d.Deleted())
	assert.Equal(t, http.Header{"Cache-Control": {"max-age=10"}}, d.OuterDirectives())
	assert.Equal(t, b, d.Encode(nil))

	f := d.Freshen(http.Header{"Etag": {`"x"`}, "Transfer-Encoding": {"chunked"}}, "", time.Unix(2e9, 0))
	assert.True(t, f.TransferCoded(), "a 304 without a type")
	assert.Equal(t, []string{htmlType}, f.Header["Content-Type"])
	f = d.Freshen(http.Header{"Etag": {`"x"`}, "content-type": {"text/html"}}, "", time.Unix(2e9, 0))
	assert.False(t, f.TransferCoded(), "a 304 with the origin's type")
	assert.Equal(t, []string{"text/html"}, f.Header["Content-Type"])

	// The mark alone (no deleted field, no outer directive).
	plain := NewSnapshot(http.StatusOK, http.Header{"Transfer-Encoding": {"chunked"}}, transferCodedBody, time.Unix(1e9, 0))
	plain.SetDeleted(nil)
	plain.SetOuterDirectives(nil)
	assert.True(t, plain.TransferCoded())
	assert.Nil(t, plain.Deleted())
	assert.Nil(t, plain.OuterDirectives())
	// A snapshot whose type has no value is never marked.
	untyped := NewSnapshot(http.StatusOK, http.Header{"Content-Type": nil}, transferCodedBody, time.Unix(1e9, 0))
	untyped.SetTransferCoded()
	assert.False(t, untyped.TransferCoded())
}

// TestDecodeOfTransferCodedEntries: an entry written before the mark (the
// snapshot of such a handler was version 1, with its sniffed type, as the
// same response without the field is now) is read as it was, unmarked:
// its hits send the type until it is stored again. A version 5 entry with
// flags other than 1, without a Content-Type value, or cut short is
// corrupt; releases that know versions 1 to 4 refuse it (ErrVersion).
func TestDecodeOfTransferCodedEntries(t *testing.T) {
	old := NewSnapshot(http.StatusOK, http.Header{"Cache-Control": {"max-age=60"}}, transferCodedBody, time.Unix(1e9, 0))
	old.rare = nil // as before the marks
	ob := old.Encode(nil)
	require.Equal(t, byte(formatVersion), ob[len(magic)], "what the handler's entry was before the mark")
	d, err := Decode(ob)
	require.NoError(t, err)
	assert.False(t, d.TransferCoded())
	get, head := servedTypes(t, d)
	assert.Equal(t, []string{htmlType}, get, "an old entry's GET hit")
	assert.Equal(t, []string{htmlType}, head, "an old entry's HEAD hit")

	s := NewSnapshot(http.StatusOK, http.Header{"Cache-Control": {"max-age=60"}, "Transfer-Encoding": {"chunked"}}, []byte("<p>x"), time.Unix(1e9, 0))
	good := s.Encode(nil)
	require.Equal(t, byte(formatCoded), good[len(magic)])
	// The flags field is the byte before the body's length (4) and body.
	flagsAt := len(good) - len("<p>x") - 2
	require.Equal(t, byte(flagTransferCoded), good[flagsAt])
	for _, flags := range []byte{0, 2, 3, 0x7f} {
		bad := append([]byte{}, good...)
		bad[flagsAt] = flags
		_, err := Decode(bad)
		assert.ErrorIs(t, err, ErrCorrupt, "flags %d", flags)
		assert.ErrorContains(t, err, "flags")
	}
	for n := len(magic) + 1; n < len(good); n++ {
		_, err := Decode(good[:n])
		assert.ErrorIs(t, err, ErrCorrupt, "cut to %d bytes", n)
	}
	// The same bytes under version 4 have one byte too many, or a body
	// length that is not the body's.
	v4 := append([]byte{}, good...)
	v4[len(magic)] = formatUntyped
	_, err = Decode(v4)
	assert.ErrorIs(t, err, ErrCorrupt)
	// Version 5 without a Content-Type that has a value: a version 4
	// entry's suppressed type, with the flags.
	untyped := NewSnapshot(http.StatusOK, http.Header{"Content-Type": nil}, []byte("<p>x"), time.Unix(1e9, 0))
	ub := untyped.Encode(nil)
	require.Equal(t, byte(formatUntyped), ub[len(magic)])
	bodyAt := len(ub) - len("<p>x") - 1
	forged := append(append(append([]byte{}, ub[:bodyAt]...), flagTransferCoded), ub[bodyAt:]...)
	forged[len(magic)] = formatCoded
	_, err = Decode(forged)
	assert.ErrorIs(t, err, ErrCorrupt, "marked without a sniffed type")
	assert.ErrorContains(t, err, "without a sniffed Content-Type")
	// The forging itself is sound: with the type, it decodes.
	typed := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/html"}}, []byte("<p>x"), time.Unix(1e9, 0))
	tb := typed.Encode(nil)
	bodyAt = len(tb) - len("<p>x") - 1
	forged = append(append(append([]byte{}, tb[:bodyAt]...), 0, 2, 0, 0, flagTransferCoded), tb[bodyAt:]...)
	forged[len(magic)] = formatCoded
	d, err = Decode(forged)
	require.NoError(t, err, "version 1 with an empty deleted list, outer section and the flags")
	assert.True(t, d.TransferCoded())
}

// TestRecorderMarksATypeSniffedAtTheFirstFlushOfATransferCodedResponse:
// the type the Recorder records at a first flush is taken by NewSnapshot
// for the handler's; for a handler that set a Transfer-Encoding it is one
// net/http's HTTP/1.x server did not send, which TransferCoded reports.
func TestRecorderMarksATypeSniffedAtTheFirstFlushOfATransferCodedResponse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     http.Header
		first string
		coded bool
	}{
		{"chunked", http.Header{"Transfer-Encoding": {"chunked"}}, "<p>first", true},
		{"nothing yet", http.Header{"Transfer-Encoding": {"chunked"}}, "", false},
		{"typed", http.Header{"Transfer-Encoding": {"chunked"}, "Content-Type": {"text/plain"}}, "<p>first", false},
		{"not coded", http.Header{}, "<p>first", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &Recorder{StoreFlushed: true}
			w := rec.Reset(httptest.NewRecorder())
			for k, vs := range tc.h {
				w.Header()[k] = vs
			}
			_, _ = io.WriteString(w, tc.first)
			_ = http.NewResponseController(w).Flush()
			_, _ = io.WriteString(w, "<p>rest")
			status, h, body, reason := rec.Finish()
			require.Equal(t, ReasonNone, reason)
			assert.Equal(t, tc.coded, rec.TransferCoded())
			s := NewSnapshot(status, h, body, time.Unix(1e9, 0))
			assert.False(t, s.TransferCoded(), "the recorded type is taken for the handler's")
			if rec.TransferCoded() {
				s.SetTransferCoded()
				assert.True(t, s.TransferCoded())
			}
		})
	}
}

// TestTransferCodedCostsNothingMore: decoding a version 5 entry allocates
// no more than the same response's version 1 entry (the mark shares the
// Snapshot's allocation, as Deleted does), and telling net/http's HTTP/1.x
// writer from another allocates nothing.
func TestTransferCodedCostsNothingMore(t *testing.T) {
	coded := NewSnapshot(http.StatusOK, http.Header{"Transfer-Encoding": {"chunked"}}, transferCodedBody, time.Unix(1e9, 0)).Encode(nil)
	plain := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {htmlType}}, transferCodedBody, time.Unix(1e9, 0)).Encode(nil)
	require.Equal(t, byte(formatCoded), coded[len(magic)])
	require.Equal(t, byte(formatVersion), plain[len(magic)])
	allocs := func(data []byte) float64 {
		return testing.AllocsPerRun(100, func() {
			if _, err := Decode(data); err != nil {
				t.Fatal(err)
			}
		})
	}
	assert.LessOrEqual(t, allocs(coded), allocs(plain))

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	rw := httptest.NewRecorder()
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = untypedOverHTTP1(rw, r) }))
	var direct bool
	var n float64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		direct = untypedOverHTTP1(w, r)
		n = testing.AllocsPerRun(100, func() { _ = untypedOverHTTP1(w, r) })
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.True(t, direct, "net/http's HTTP/1.x writer")
	assert.Zero(t, n)
}
