package httpcache

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
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
			assert.Zero(t, testutil.AllocsPerRun(100, func() { _, _ = rf.ReadFrom(r) }), "%s: %T", name, r)
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

// nestingReader is the handler's reader whose first Read copies inner to
// the same response through its ReadFrom, before it reads r.
type nestingReader struct {
	w     io.ReaderFrom
	inner io.Reader
	r     io.Reader
}

func (n *nestingReader) Read(p []byte) (int, error) {
	if inner := n.inner; inner != nil {
		n.inner = nil
		if _, err := n.w.ReadFrom(inner); err != nil {
			return 0, err
		}
	}
	return n.r.Read(p)
}

// Regression: a ReadFrom made inside the Read of the reader a ReadFrom
// below reads (the handler's reader writes the same response) took the
// reader the Recorder holds for the outer call (readBelow), and cleared it
// when it returned: the rest of the outer reader was not recorded (the
// cached body lacked what was sent), and then read as io.EOF (the client's
// body cut short), where net/http alone sends it all.
func TestRecorderReadFromNested(t *testing.T) {
	const inner, outer = "inner ", "outer"
	for name, c := range readFromCases {
		if name == "longer than declared" {
			continue // its own reader of what was held
		}
		sent := httptest.NewRecorder()
		rec, w := readFromRecorder(c.hold, &readFromBelow{ResponseWriter: sent}, c.header)
		w.WriteHeader(http.StatusOK)
		rf := w.(io.ReaderFrom)
		n, err := rf.ReadFrom(&nestingReader{
			w:     rf,
			inner: struct{ io.Reader }{strings.NewReader(inner)},
			r:     iotest.OneByteReader(strings.NewReader(outer)),
		})
		require.NoError(t, err, name)
		assert.Equal(t, int64(len(outer)), n, name)
		_, _, body, reason := rec.Finish()
		require.NoError(t, rec.Send(), name)
		assert.Equal(t, inner+outer, sent.Body.String(), "%s: the body sent", name)
		assert.Equal(t, c.uncached, reason != ReasonNone, name)
		if !c.uncached {
			assert.Equal(t, inner+outer, string(body), "%s: the body recorded", name)
		}
		assert.False(t, rec.PanickedBelow(), name)
	}
}

// Regression: the Recorder kept the handler's reader after a ReadFrom
// below in which it or the writer below panicked (readBelow cleared it
// only when that returned): a writer below that kept the reader it was
// given read the handler's reader on, after the panic was recovered.
func TestRecorderReadFromReaderNotKeptAfterPanic(t *testing.T) {
	for name, c := range readFromCases {
		if name == "longer than declared" {
			continue // its own reader of what was held
		}
		for _, below := range []bool{true, false} {
			under := &readFromBelow{ResponseWriter: httptest.NewRecorder(), broken: below}
			_, w := readFromRecorder(c.hold, under, c.header)
			w.WriteHeader(http.StatusOK)
			var r io.Reader = strings.NewReader("read on")
			if !below {
				r = &panicFirstReader{r: r}
			}
			func() {
				defer func() { require.NotNil(t, recover(), "%s: below %v", name, below) }()
				_, _ = w.(io.ReaderFrom).ReadFrom(r)
			}()
			require.NotNil(t, under.got, "%s: the ReadFrom below was not called", name)
			n, err := under.got.Read(make([]byte, 16))
			assert.Zero(t, n, "%s: below %v", name, below)
			assert.Equal(t, io.EOF, err, "%s: below %v", name, below)
		}
	}
}

// panicFirstReader is the handler's reader whose first Read panics, and
// whose later ones read r.
type panicFirstReader struct {
	r        io.Reader
	panicked bool
}

func (p *panicFirstReader) Read(b []byte) (int, error) {
	if !p.panicked {
		p.panicked = true
		panic("reader broke")
	}
	return p.r.Read(b)
}

// copyingBelow is a writer below whose ReadFrom copies as a
// *net.TCPConn's does where it cannot sendfile or splice (net/http's
// ReadFrom hands it the body past its first 512 bytes): io.Copy to a
// writer without ReadFrom, which allocates a 32 KiB buffer for a reader
// without WriteTo.
type copyingBelow struct {
	http.ResponseWriter
	dst io.Writer // the ResponseWriter's Write alone, made once
}

func (b *copyingBelow) ReadFrom(r io.Reader) (int64, error) { return io.Copy(b.dst, r) }

// Regression: the reader the Recorder gives the ReadFrom below in place of
// the handler's (readBelow, 0fc64ea) has no WriteTo: a *net.TCPConn's
// ReadFrom, which copies a reader it cannot sendfile with io.Copy,
// allocated a 32 KiB buffer for each body of an uncacheable response,
// where one of the handler's readers with a WriteTo (a bytes.Reader)
// allocated none, and its io.LimitedReader (http.ServeContent's) one of
// the body's length. The copy now goes through a pooled buffer, for
// every reader: what it sends is unchanged.
func TestRecorderReadFromCopiesWithoutAllocating(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	data := []byte(strings.Repeat("d", 2048))
	br := bytes.NewReader(data)
	lr := &io.LimitedReader{R: br}
	plain := struct{ io.Reader }{br}
	for name, c := range readFromCases {
		if !c.uncached || name == "longer than declared" {
			continue // the pass-through paths, where nothing is recorded
		}
		sent := httptest.NewRecorder()
		below := &copyingBelow{ResponseWriter: sent}
		below.dst = struct{ io.Writer }{sent}
		_, w := readFromRecorder(c.hold, below, c.header)
		w.WriteHeader(http.StatusOK)
		rf := w.(io.ReaderFrom)
		for _, r := range []io.Reader{br, lr, plain} {
			copyOnce := func() {
				br.Reset(data)
				lr.N = int64(len(data))
				sent.Body.Reset()
				n, err := rf.ReadFrom(r)
				if err != nil || n != int64(len(data)) {
					panic("short copy")
				}
			}
			copyOnce()
			assert.True(t, bytes.Equal(data, sent.Body.Bytes()), "%s: %T: the body sent", name, r)
			assert.Zero(t, testutil.AllocsPerRun(100, copyOnce), "%s: %T", name, r)
		}
	}
}

// notingListener hands net/http connections whose ReadFrom (what
// net/http's own ReadFrom gives a body past its first 512 bytes) notes the
// reader it is given before the TCP connection's ReadFrom sends it.
type notingListener struct {
	net.Listener
	mu  sync.Mutex
	got []io.Reader
}

func (l *notingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return notingConn{TCPConn: c.(*net.TCPConn), l: l}, nil
}

// readers returns the readers the connections' ReadFrom was given.
func (l *notingListener) readers() []io.Reader {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]io.Reader(nil), l.got...)
}

type notingConn struct {
	*net.TCPConn
	l *notingListener
}

func (c notingConn) ReadFrom(r io.Reader) (int64, error) {
	c.l.mu.Lock()
	c.l.got = append(c.l.got, r)
	c.l.mu.Unlock()
	return c.TCPConn.ReadFrom(r)
}

// getNoting serves h on a real net/http server whose connections note
// the reader their ReadFrom is given (notingListener), and returns the
// body of a GET and the readers noted.
func getNoting(t *testing.T, h http.Handler) (body string, readers []io.Reader) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	nl := &notingListener{Listener: srv.Listener}
	srv.Listener = nl
	srv.Start()
	defer srv.Close()

	res, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	return string(got), nl.readers()
}

// TestRecorderSendfileThroughServer: a file served with http.ServeContent
// through a Recorder, on a real net/http server, reaches the TCP
// connection's ReadFrom as the io.LimitedReader of the file (what net's
// sendfile takes) where the response passes through uncacheable, with Hold
// or without; a response that is recorded reaches it as another reader.
// The client gets the file whole either way.
func TestRecorderSendfileThroughServer(t *testing.T) {
	content := strings.Repeat("0123456789abcdef", 4096) // 64 KiB
	path := filepath.Join(t.TempDir(), "f.bin")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))

	for _, c := range []struct {
		name     string
		hold     bool
		noStore  bool
		sendfile bool
	}{
		{"pass through", false, true, true},
		{"pass through with hold", true, true, true},
		{"tee", false, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			type result struct {
				reason   Reason
				recorded int
			}
			done := make(chan result, 1) // once the handler has returned
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				f, err := os.Open(path)
				if !assert.NoError(t, err) {
					return
				}
				defer f.Close()
				header := http.Header{}
				if c.noStore {
					header.Set("Cache-Control", "no-store")
				}
				rec, rw := readFromRecorder(c.hold, w, header)
				http.ServeContent(rw, r, "f.bin", time.Time{}, f)
				_, _, body, reason := rec.Finish()
				assert.NoError(t, rec.Send())
				done <- result{reason, len(body)}
			})
			got, readers := getNoting(t, h)
			assert.Equal(t, len(content), len(got))
			assert.True(t, content == got, "the body sent")
			r := <-done
			assert.Equal(t, c.noStore, r.reason != ReasonNone)
			if !c.noStore {
				assert.Equal(t, len(content), r.recorded, "the body recorded")
			}

			require.Len(t, readers, 1, "the connection's ReadFrom was called once")
			lr, file := readers[0].(*io.LimitedReader)
			if file {
				_, file = lr.R.(*os.File)
			}
			assert.Equal(t, c.sendfile, file, "the connection's ReadFrom was given %#v", readers[0])
		})
	}
}
