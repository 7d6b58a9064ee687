package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// panicOnceWriter panics at the first status that passes it, as a writer
// outside a view that breaks as the response reaches it, then works.
type panicOnceWriter struct {
	http.ResponseWriter
	broke bool
}

func (p *panicOnceWriter) WriteHeader(code int) {
	if !p.broke {
		p.broke = true
		panic("below broke")
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *panicOnceWriter) Write(b []byte) (int, error) {
	if !p.broke {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

// TestRecorderPanickedBelowStays: PanickedBelow stays true once a call
// into the writer below panicked, as documented, also where the handler
// recovered that panic and wrote again (uncacheable: the write passes
// below): it cleared at that write, and the handler's own panic then was
// taken for a failure of the handler, not of the writer below.
func TestRecorderPanickedBelowStays(t *testing.T) {
	for _, hold := range []bool{false, true} {
		rec := Recorder{Hold: hold}
		w := rec.Reset(&panicOnceWriter{ResponseWriter: httptest.NewRecorder()})
		w.Header().Set("Cache-Control", "no-store")
		func() {
			defer func() { assert.Equal(t, "below broke", recover()) }()
			_, _ = io.WriteString(w, "first")
		}()
		_, _ = io.WriteString(w, "again")
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		assert.True(t, rec.PanickedBelow(), "hold=%v", hold)
	}
	rec := Recorder{}
	w := rec.Reset(httptest.NewRecorder())
	_, _ = io.WriteString(w, "fine")
	assert.False(t, rec.PanickedBelow(), "no call below panicked")
}

// readFromBelow is a writer below with a ReadFrom (net/http's, the
// sendfile path): it keeps the reader it was given, and reads it through
// unless broken, when it panics after its first read, as a writer whose
// ReadFrom breaks as the body reaches it.
type readFromBelow struct {
	http.ResponseWriter
	broken bool
	got    io.Reader // the reader ReadFrom was given
}

func (b *readFromBelow) ReadFrom(r io.Reader) (int64, error) {
	b.got = r
	if b.broken {
		_, _ = r.Read(make([]byte, 1))
		panic("below broke")
	}
	return io.Copy(b.ResponseWriter, r)
}

// panickingReader is the handler's reader that panics once what it has
// is read.
type panickingReader struct{ r io.Reader }

func (p panickingReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF {
		panic("reader broke")
	}
	return n, err
}

// readFromCases are the ways the Recorder's ReadFrom reaches the ReadFrom
// below: recording on the way (without Hold), passing an uncacheable
// response through (with Hold or without), and, with Hold, a body longer
// than its declared length.
var readFromCases = map[string]struct {
	hold     bool
	header   http.Header
	uncached bool
}{
	"tee":                    {header: http.Header{}},
	"pass through":           {header: http.Header{"Cache-Control": {"no-store"}}, uncached: true},
	"pass through with hold": {hold: true, header: http.Header{"Cache-Control": {"no-store"}}, uncached: true},
	"longer than declared":   {hold: true, header: http.Header{"Content-Length": {"600"}}, uncached: true},
}

// readFromRecorder returns a Recorder (with Hold or without) that refuses
// a no-store response at commit, and the writer it gives the handler, on
// below, with header set.
func readFromRecorder(hold bool, below http.ResponseWriter, header http.Header) (*Recorder, http.ResponseWriter) {
	rec := &Recorder{Hold: hold, Check: func(_ int, h http.Header) Reason {
		if h.Get("Cache-Control") == "no-store" {
			return ReasonNoStore
		}
		return ReasonNone
	}}
	w := rec.Reset(below)
	for k, v := range header {
		w.Header()[k] = v
	}
	return rec, w
}

// Regression: a panic of the writer below's ReadFrom (net/http's sendfile
// path) was taken for the handler's (PanickedBelow false), where a panic
// of its Write or WriteHeader is the writer's: a view told its waiters to
// run on their own rather than wait for a new leader. The handler's reader
// that panics inside the ReadFrom below is still the handler's.
func TestRecorderReadFromPanickedBelow(t *testing.T) {
	body := strings.Repeat("b", 2000) // past the first 512 bytes, which go through Write
	for name, c := range readFromCases {
		for _, below := range []bool{true, false} {
			under := &readFromBelow{ResponseWriter: httptest.NewRecorder(), broken: below}
			rec, w := readFromRecorder(c.hold, under, c.header)
			var r io.Reader = strings.NewReader(body)
			want := "below broke"
			if !below {
				r, want = panickingReader{r}, "reader broke"
			}
			func() {
				defer func() { assert.Equal(t, want, recover(), "%s: below %v", name, below) }()
				_, _ = w.(io.ReaderFrom).ReadFrom(r)
			}()
			require.NotNil(t, under.got, "%s: the ReadFrom below was not called", name)
			assert.Equal(t, below, rec.PanickedBelow(), "%s: the panic of the ReadFrom below, not of the handler's reader", name)
			assert.Equal(t, c.uncached, rec.reason != ReasonNone, name)
		}
	}
}

// TestRecorderReadFromKeepsSendfile: the ReadFrom below of an uncacheable
// response is given the handler's file, or its io.LimitedReader of one
// (http.ServeContent's), as it is: net/http sends it with sendfile. The
// marking of the call (PanickedBelow) allocates nothing, on any path.
func TestRecorderReadFromKeepsSendfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("f", 4096)), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })

	for _, r := range []io.Reader{f, &io.LimitedReader{R: f, N: 100}} {
		under := &readFromBelow{ResponseWriter: httptest.NewRecorder()}
		_, w := readFromRecorder(true, under, readFromCases["pass through with hold"].header)
		w.WriteHeader(http.StatusOK)
		_, err := w.(io.ReaderFrom).ReadFrom(r)
		require.NoError(t, err)
		assert.True(t, r == under.got, "%T reaches the ReadFrom below as it is", r)
	}

	for name, c := range readFromCases {
		if name == "longer than declared" {
			continue // not the normal path: it makes a reader of what was held
		}
		_, w := readFromRecorder(c.hold, noReadBelow{httptest.NewRecorder()}, c.header)
		w.WriteHeader(http.StatusOK)
		rf := w.(io.ReaderFrom)
		for _, r := range []io.Reader{f, strings.NewReader("x"), struct{ io.Reader }{strings.NewReader("x")}} {
			assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = rf.ReadFrom(r) }), "%s: %T", name, r)
		}
	}
}

// noReadBelow is a writer below whose ReadFrom reads nothing.
type noReadBelow struct{ http.ResponseWriter }

func (noReadBelow) ReadFrom(io.Reader) (int64, error) { return 0, nil }

// keepingBelow is a writer below whose ReadFrom keeps the reader it was
// given, and reads nothing of it.
type keepingBelow struct {
	http.ResponseWriter
	kept io.Reader
}

func (k *keepingBelow) ReadFrom(r io.Reader) (int64, error) {
	k.kept = r
	return 0, nil
}

// TestRecorderReadFromReaderNotKept: a writer below that reads the reader
// its ReadFrom was given after that returned (against io.ReaderFrom's
// contract) reads nothing more of the handler's reader, and does not
// crash the Recorder: the Recorder keeps no reference to it.
func TestRecorderReadFromReaderNotKept(t *testing.T) {
	for name, c := range readFromCases {
		if name == "longer than declared" {
			continue // its own reader of what was held
		}
		under := &keepingBelow{ResponseWriter: httptest.NewRecorder()}
		rec, w := readFromRecorder(c.hold, under, c.header)
		w.WriteHeader(http.StatusOK)
		_, err := w.(io.ReaderFrom).ReadFrom(struct{ io.Reader }{strings.NewReader("late")})
		require.NoError(t, err, name)
		require.NotNil(t, under.kept, name)
		n, err := under.kept.Read(make([]byte, 4))
		assert.Zero(t, n, name)
		assert.Equal(t, io.EOF, err, name)
		assert.False(t, rec.PanickedBelow(), name)
	}
}
