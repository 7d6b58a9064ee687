package httpx

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errFakeHijack = errors.New("fake hijack")

// callLog records the calls that reach a fake underlying writer or a hook.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (c *callLog) add(s string) {
	c.mu.Lock()
	c.calls = append(c.calls, s)
	c.mu.Unlock()
}

func (c *callLog) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// fakeBase is the plain http.ResponseWriter part of the generated fakes.
type fakeBase struct {
	rec   *httptest.ResponseRecorder
	calls *callLog
	codes *[]int
	gone  chan bool // what CloseNotify returns
}

func newFakeBase() fakeBase {
	return fakeBase{rec: httptest.NewRecorder(), calls: &callLog{}, codes: new([]int), gone: make(chan bool, 1)}
}

func (f fakeBase) Header() http.Header { return f.rec.Header() }
func (f fakeBase) Write(p []byte) (int, error) {
	f.calls.add("Write")
	return f.rec.Write(p)
}
func (f fakeBase) WriteHeader(code int) {
	f.calls.add("WriteHeader")
	*f.codes = append(*f.codes, code)
	if code >= 200 || code == http.StatusSwitchingProtocols {
		f.rec.WriteHeader(code)
	}
}

// spy intercepts every hook, logs it and continues downstream.
type spy struct {
	Writer
	log callLog
}

func (s *spy) WriteHeader(code int) {
	s.log.add("hook:WriteHeader")
	s.Writer.WriteHeader(code)
}
func (s *spy) Write(p []byte) (int, error) { s.log.add("hook:Write"); return s.Writer.Write(p) }
func (s *spy) Flush() error                { s.log.add("hook:Flush"); return s.Writer.Flush() }
func (s *spy) ReadFrom(r io.Reader) (int64, error) {
	s.log.add("hook:ReadFrom")
	return s.Writer.ReadFrom(r)
}
func (s *spy) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.log.add("hook:Hijack")
	return s.Writer.Hijack()
}
func (s *spy) Unwrap() http.ResponseWriter { s.log.add("hook:Unwrap"); return s.Writer.Unwrap() }

func TestCombinationsKeepExactlyTheirInterfaces(t *testing.T) {
	for mask := 0; mask < 1<<5; mask++ {
		t.Run(maskName(mask), func(t *testing.T) {
			fb := newFakeBase()
			under := fakeWriter(mask, fb)
			s := &spy{}
			w := s.Reset(under, s)

			_, isF := w.(http.Flusher)
			_, isH := w.(http.Hijacker)
			_, isP := w.(http.Pusher)
			_, isR := w.(io.ReaderFrom)
			_, isC := w.(http.CloseNotifier) //lint:ignore SA1019 handlers still assert it
			assert.Equal(t, mask&hasF != 0, isF, "http.Flusher")
			assert.Equal(t, mask&hasH != 0, isH, "http.Hijacker")
			assert.Equal(t, mask&hasP != 0, isP, "http.Pusher")
			assert.Equal(t, mask&hasR != 0, isR, "io.ReaderFrom")
			assert.Equal(t, mask&hasC != 0, isC, "http.CloseNotifier")
			_, hasFlushError := w.(interface{ FlushError() error })
			assert.Equal(t, isF, hasFlushError, "FlushError only with Flush")
			require.Implements(t, (*io.StringWriter)(nil), w)
			require.Implements(t, (*rwUnwrapper)(nil), w)
			assert.Equal(t, under, w.(rwUnwrapper).Unwrap())

			// Each present method reaches its hook and then the underlying writer.
			if isF {
				w.(http.Flusher).Flush()
				assert.Contains(t, s.log.list(), "hook:Flush")
				assert.Contains(t, fb.calls.list(), "Flush")
			}
			if isH {
				_, _, err := w.(http.Hijacker).Hijack()
				require.ErrorIs(t, err, errFakeHijack)
				assert.Contains(t, s.log.list(), "hook:Hijack")
				assert.Contains(t, fb.calls.list(), "Hijack")
				assert.False(t, s.Hijacked(), "a failed hijack is not recorded")
			}
			if isP {
				require.NoError(t, w.(http.Pusher).Push("/x", nil))
				assert.Contains(t, fb.calls.list(), "Push")
			}
			if isR {
				n, err := w.(io.ReaderFrom).ReadFrom(plainReader{strings.NewReader("abc")})
				require.NoError(t, err)
				assert.EqualValues(t, 3, n)
				assert.Contains(t, s.log.list(), "hook:ReadFrom")
				assert.Contains(t, fb.calls.list(), "ReadFrom")
			}
			if isC {
				fb.gone <- true
				//lint:ignore SA1019 handlers still assert it
				assert.True(t, <-w.(http.CloseNotifier).CloseNotify(), "the underlying writer's channel")
				assert.Contains(t, fb.calls.list(), "CloseNotify")
			}
			_, err := io.WriteString(w, "de")
			require.NoError(t, err)
			assert.Contains(t, s.log.list(), "hook:Write")
			assert.Equal(t, http.StatusOK, s.Status())
		})
	}
}

func maskName(mask int) string {
	s := ""
	for i, l := range "FHPRC" {
		if mask&(1<<i) != 0 {
			s += string(l)
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// plainReader hides WriterTo so that io.Copy takes the ReadFrom path.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

func TestInformationalForwardedAndNotFinal(t *testing.T) {
	fb := newFakeBase()
	s := &spy{}
	w := s.Reset(fakeWriter(0, fb), s)
	w.Header().Set("Link", "</a.css>; rel=preload")
	w.WriteHeader(http.StatusEarlyHints)
	assert.False(t, s.Committed())
	assert.Equal(t, 0, s.Status())
	w.WriteHeader(http.StatusContinue)
	w.WriteHeader(http.StatusCreated)
	assert.Equal(t, []int{103, 100, 201}, *fb.codes)
	assert.Equal(t, http.StatusCreated, s.Status())
}

func TestSwitchingProtocolsIsFinal(t *testing.T) {
	fb := newFakeBase()
	w := New(fakeWriter(0, fb))
	w.ResponseWriter().WriteHeader(http.StatusSwitchingProtocols)
	assert.True(t, w.Committed())
	assert.Equal(t, http.StatusSwitchingProtocols, w.Status())
}

func TestFirstFinalStatusOnly(t *testing.T) {
	fb := newFakeBase()
	w := New(fakeWriter(0, fb))
	rw := w.ResponseWriter()
	rw.WriteHeader(http.StatusAccepted)
	rw.WriteHeader(http.StatusInternalServerError)
	_, _ = rw.Write([]byte("x"))
	assert.Equal(t, []int{202}, *fb.codes)
	assert.Equal(t, http.StatusAccepted, w.Status())
	assert.Equal(t, http.StatusAccepted, fb.rec.Code)
}

func TestImplicitStatusGoesThroughWriteHeaderHook(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(w http.ResponseWriter)
	}{
		{"Write", func(w http.ResponseWriter) { _, _ = w.Write([]byte("hello")) }},
		{"WriteString", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "hello") }},
		{"ReadFrom", func(w http.ResponseWriter) {
			_, _ = w.(io.ReaderFrom).ReadFrom(plainReader{strings.NewReader("hello")})
		}},
		{"io.Copy", func(w http.ResponseWriter) { _, _ = io.Copy(w, plainReader{strings.NewReader("hello")}) }},
		{"io.Copy/WriterTo", func(w http.ResponseWriter) { _, _ = io.Copy(w, strings.NewReader("hello")) }},
		{"Flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := newFakeBase()
			s := &spy{}
			w := s.Reset(fakeWriter(hasF|hasR, fb), s)
			tc.do(w)
			require.NotEmpty(t, s.log.list())
			assert.Equal(t, "hook:WriteHeader", s.log.list()[1], "the implicit 200 reaches the WriteHeader hook")
			assert.Equal(t, http.StatusOK, s.Status())
			assert.Equal(t, []int{200}, *fb.codes)
			if tc.name != "Flush" {
				assert.Equal(t, "hello", fb.rec.Body.String())
				assert.EqualValues(t, 5, s.Written())
			}
		})
	}
}

func TestReadFromPaths(t *testing.T) {
	t.Run("underlying ReaderFrom is used", func(t *testing.T) {
		fb := newFakeBase()
		w := New(fakeWriter(hasR, fb))
		n, err := io.Copy(w.ResponseWriter(), plainReader{strings.NewReader(strings.Repeat("a", 100000))})
		require.NoError(t, err)
		assert.EqualValues(t, 100000, n)
		assert.EqualValues(t, 100000, w.Written())
		assert.Equal(t, []string{"WriteHeader", "ReadFrom"}, fb.calls.list())
	})
	t.Run("default ReadFrom without underlying ReaderFrom copies through Write", func(t *testing.T) {
		fb := newFakeBase()
		w := New(fakeWriter(0, fb))
		n, err := w.ReadFrom(plainReader{strings.NewReader("xyz")})
		require.NoError(t, err)
		assert.EqualValues(t, 3, n)
		assert.Equal(t, "xyz", fb.rec.Body.String())
		assert.EqualValues(t, 3, w.Written())
	})
	t.Run("ReadFromViaWrite routes through the Write hook", func(t *testing.T) {
		fb := newFakeBase()
		u := &upper{}
		w := u.Reset(fakeWriter(hasR, fb), u)
		n, err := io.Copy(w, plainReader{strings.NewReader("abc")})
		require.NoError(t, err)
		assert.EqualValues(t, 3, n)
		assert.Equal(t, "ABC", fb.rec.Body.String())
		assert.NotContains(t, fb.calls.list(), "ReadFrom")
	})
}

// upper transforms the body, as compress does.
type upper struct{ Writer }

func (u *upper) Write(p []byte) (int, error) {
	_, err := u.Writer.Write([]byte(strings.ToUpper(string(p))))
	return len(p), err
}
func (u *upper) ReadFrom(r io.Reader) (int64, error) { return u.ReadFromViaWrite(r) }

func TestWriteStringDoesNotCopyAndKeepsHooks(t *testing.T) {
	fb := newFakeBase()
	u := &upper{}
	w := u.Reset(fakeWriter(0, fb), u)
	_, err := io.WriteString(w, "shout")
	require.NoError(t, err)
	assert.Equal(t, "SHOUT", fb.rec.Body.String())
}

func TestFlushAndHijackWithoutSupport(t *testing.T) {
	w := New(fakeWriter(0, newFakeBase()))
	require.ErrorIs(t, w.Flush(), http.ErrNotSupported)
	_, _, err := w.Hijack()
	require.ErrorIs(t, err, http.ErrNotSupported)
	err = http.NewResponseController(w.ResponseWriter()).Flush()
	require.ErrorIs(t, err, http.ErrNotSupported)
}

func TestResetReleasesReferences(t *testing.T) {
	w := New(fakeWriter(15, newFakeBase()))
	assert.Nil(t, w.Reset(nil, nil))
	assert.Nil(t, w.rw)
	assert.Nil(t, w.h)
	assert.Nil(t, w.wrapped)
	assert.Nil(t, w.header)
	assert.Nil(t, w.hd)
	assert.Nil(t, w.handles.first.w, "the handle handed out is detached")
	assert.Zero(t, w.status)
	assert.Zero(t, w.written)
	assert.False(t, w.committed)
	assert.False(t, w.hijacked)
}

// TestSetHeader: a map given to SetHeader is what the Writer's and the
// wrapped writer's Header return, without a call to the underlying Header
// (which a goroutine writing downstream may be using); nil, and Reset,
// return to the underlying map.
func TestSetHeader(t *testing.T) {
	under := &headerCounter{ResponseRecorder: httptest.NewRecorder()}
	w := New(under)
	rw := w.ResponseWriter()
	under.Header().Set("X-Below", "1")
	calls := under.calls
	own := http.Header{"X-Own": {"1"}}
	w.SetHeader(own)
	rw.Header().Set("X-Handler", "2")
	w.Header().Del("X-Own")
	assert.Equal(t, http.Header{"X-Handler": {"2"}}, own)
	assert.Equal(t, calls, under.calls, "the underlying Header is not called")
	assert.Equal(t, http.Header{"X-Below": {"1"}}, under.ResponseRecorder.Header(), "nor its map changed")
	w.SetHeader(nil)
	assert.Equal(t, "1", rw.Header().Get("X-Below"))
	w.SetHeader(own)
	w.Reset(under, nil)
	assert.Equal(t, "1", w.Header().Get("X-Below"), "Reset returns to the underlying map")
}

// headerCounter counts the calls to its Header.
type headerCounter struct {
	*httptest.ResponseRecorder
	calls int
}

func (h *headerCounter) Header() http.Header {
	h.calls++
	return h.ResponseRecorder.Header()
}

func TestNoAllocationsPerRequestWithPooledWriter(t *testing.T) {
	fb := newFakeBase()
	under := fakeWriter(hasF|hasH|hasR, fb)
	s := &spy{}
	body := []byte("hello")
	allocs := testing.AllocsPerRun(100, func() {
		fb.rec.Body.Reset()
		w := s.Reset(under, s)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		_, _ = w.(io.StringWriter).WriteString("world")
		s.log.calls = s.log.calls[:0]
		fb.calls.calls = fb.calls.calls[:0]
		*fb.codes = (*fb.codes)[:0]
	})
	assert.Zero(t, allocs)
}

// The real net/http writer, through a real server: ResponseController and
// 1xx reach the client.
func TestRealServer(t *testing.T) {
	t.Run("1xx early hints reach the client", func(t *testing.T) {
		final := make(chan int, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			s := &spy{}
			w := s.Reset(rw, s)
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("ok"))
			final <- s.Status()
		}))
		defer srv.Close()
		var got []int
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, _ textproto.MIMEHeader) error { got = append(got, code); return nil },
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, []int{103}, got)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "ok", string(body))
		assert.Equal(t, http.StatusOK, <-final)
	})

	t.Run("ResponseController Flush reaches the client before the handler ends", func(t *testing.T) {
		release := make(chan struct{})
		hooks := make(chan []string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			s := &spy{}
			w := s.Reset(rw, s)
			rc := http.NewResponseController(w)
			assert.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)))
			_, _ = w.Write([]byte("first\n"))
			assert.NoError(t, rc.Flush())
			<-release
			_, _ = w.Write([]byte("second\n"))
			hooks <- s.log.list()
		}))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "first\n", line, "flushed before the handler continued")
		close(release)
		rest, _ := io.ReadAll(br)
		assert.Equal(t, "second\n", string(rest))
		got := <-hooks
		assert.Contains(t, got, "hook:Flush")
		assert.Contains(t, got, "hook:Unwrap", "SetWriteDeadline goes through Unwrap")
	})

	t.Run("ResponseController Hijack goes through the hook", func(t *testing.T) {
		hijacked := make(chan bool, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			s := &spy{}
			w := s.Reset(rw, s)
			conn, brw, err := http.NewResponseController(w).Hijack()
			if !assert.NoError(t, err) {
				hijacked <- false
				return
			}
			defer conn.Close()
			_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			hijacked <- s.Hijacked() && strings.Contains(strings.Join(s.log.list(), ","), "hook:Hijack")
			_ = brw.Flush()
		}))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "hijacked", string(body))
		assert.True(t, <-hijacked)
	})
}
