package compress_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// repeating is an endless reader of one line of JSON over and over: a body
// that compresses to almost nothing.
type repeating struct{ off int }

var repeatedLine = []byte(`{"id":1,"name":"desk lamp","price":19.99},`)

func (r *repeating) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], repeatedLine[r.off:])
		n += c
		r.off = (r.off + c) % len(repeatedLine)
	}
	return n, nil
}

// goneWrites is what a handler's writes returned once its client had left.
type goneWrites struct {
	writeErr error
	copied   int64
	copyErr  error
}

// TestEncodedWritesFailOnceClientIsGone: the compressed output of a very
// compressible body is held back until MaxBuffer (64 KiB) of it exists,
// and a handler's writes did not fail before then, however long its
// client had been gone: a handler that stops at its first failed write
// (io.Copy from a large file or a database cursor) had tens of megabytes
// encoded for nobody (with zstd, a gigabyte of this body is less than
// MaxBuffer). Once the request's context is done, Write and ReadFrom fail
// with its error, before anything is encoded, with a Content-Length
// declared or not.
func TestEncodedWritesFailOnceClientIsGone(t *testing.T) {
	const limit = 64 << 20 // what io.Copy is offered: all of it is encoded when nothing fails
	for _, enc := range []string{"zstd", "br", "gzip", "deflate"} {
		for _, declared := range []bool{false, true} {
			name := enc
			if declared {
				name += "/Content-Length"
			}
			t.Run(name, func(t *testing.T) {
				started := make(chan struct{})
				got := make(chan goneWrites, 1)
				srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					if declared {
						w.Header().Set("Content-Length", strconv.Itoa(2*limit))
					}
					first := bytes.Repeat(repeatedLine, 100)
					if _, err := w.Write(first); err != nil {
						t.Errorf("the first write, with the client there: %v", err)
					}
					close(started)
					<-r.Context().Done() // the client left
					var g goneWrites
					_, g.writeErr = w.Write(first)
					g.copied, g.copyErr = io.Copy(w, io.LimitReader(&repeating{}, limit))
					got <- g
				})))
				defer srv.Close()
				ctx, hangUp := context.WithCancel(context.Background())
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
				require.NoError(t, err)
				req.Header.Set("Accept-Encoding", enc)
				tr := &http.Transport{DisableCompression: true}
				defer tr.CloseIdleConnections()
				sent := make(chan error, 1)
				go func() {
					res, err := tr.RoundTrip(req)
					if err == nil {
						res.Body.Close()
					}
					sent <- err
				}()
				<-started
				hangUp() // the response is held back: the client hangs up waiting for its header
				require.Error(t, <-sent, "the client got no response")
				g := <-got
				assert.ErrorIs(t, g.writeErr, context.Canceled, "a Write after the client left")
				assert.ErrorIs(t, g.copyErr, context.Canceled, "an io.Copy after the client left")
				assert.Zero(t, g.copied, "bytes encoded for a client that left")
			})
		}
	}
}

// TestEncodedWritesGoOnPastADeadline: a request whose context ended by its
// deadline (a timeout middleware that sets one for the handler's queries)
// still has a client, and net/http alone sends what the handler writes
// after it: so does the middleware, the whole body compressed, in writes
// past MaxBuffer of input.
func TestEncodedWritesGoOnPastADeadline(t *testing.T) {
	body := bytes.Repeat(repeatedLine, 4000) // 168 KB
	compressed := compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for off := 0; off < len(body); off += 1000 {
			if _, err := w.Write(body[off:min(off+1000, len(body))]); err != nil {
				t.Errorf("a write past the deadline: %v", err)
				return
			}
		}
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Millisecond)
		defer cancel()
		<-ctx.Done() // the deadline passed before the handler writes
		compressed.ServeHTTP(w, r.WithContext(ctx))
	}))
	defer srv.Close()
	for _, enc := range []string{"zstd", "br", "gzip", "deflate"} {
		t.Run(enc, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			req.Header.Set("Accept-Encoding", enc)
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			res, err := tr.RoundTrip(req)
			require.NoError(t, err)
			raw, err := io.ReadAll(res.Body)
			res.Body.Close()
			require.NoError(t, err, "the response read whole")
			assert.Equal(t, enc, res.Header.Get("Content-Encoding"))
			assert.Equal(t, body, decode(t, enc, raw), "the whole body, written after the deadline")
		})
	}
}

// belowWriter is the writer net/http hands compress, with a record of what
// compress sends it once armed (after the client left).
type belowWriter struct {
	http.ResponseWriter
	armed          atomic.Bool
	wrote, flushed atomic.Int64
	headers        atomic.Int64
}

func (b *belowWriter) WriteHeader(code int) {
	if b.armed.Load() {
		b.headers.Add(1)
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *belowWriter) Write(p []byte) (int, error) {
	if b.armed.Load() {
		b.wrote.Add(int64(len(p)))
	}
	return b.ResponseWriter.Write(p)
}

func (b *belowWriter) Flush() {
	if b.armed.Load() {
		b.flushed.Add(1)
	}
	b.ResponseWriter.(http.Flusher).Flush()
}

// goneRun is what compress did once the client of a request had left.
type goneRun struct {
	below    *belowWriter
	panicked any // what compress's Handler ended with: http.ErrAbortHandler for an aborted response
}

// serveClientGone serves a request (method, Accept-Encoding enc) through
// compress on a real server: before runs with the client there, then the
// client hangs up, then after runs. It returns once compress's Handler has
// returned.
func serveClientGone(t *testing.T, method, enc string, before, after func(w http.ResponseWriter)) goneRun {
	t.Helper()
	started := make(chan struct{})
	done := make(chan goneRun, 1)
	mw := compress.Must(compress.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run := goneRun{below: &belowWriter{ResponseWriter: w}}
		defer func() {
			run.panicked = recover() // net/http swallows http.ErrAbortHandler: record it
			done <- run
		}()
		mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			before(w)
			close(started)
			<-r.Context().Done() // the client left
			run.below.armed.Store(true)
			after(w)
		})).ServeHTTP(run.below, r)
	}))
	defer srv.Close()
	ctx, hangUp := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, method, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", enc)
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		if res, err := tr.RoundTrip(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body) // a streamed response: until the hang-up
			res.Body.Close()
		}
	}()
	<-started
	hangUp()
	<-sent
	return <-done
}

// assertNothingSent checks that compress sent nothing below once the client
// had left: no header, no byte, no flush.
func assertNothingSent(t *testing.T, run goneRun) {
	t.Helper()
	assert.Zero(t, run.below.headers.Load(), "a header committed for a client that left")
	assert.Zero(t, run.below.wrote.Load(), "bytes encoded and sent for a client that left")
	assert.Zero(t, run.below.flushed.Load(), "a flush for a client that left")
}

// TestFlushFailsOnceClientIsGone: once the client left, a write of a body
// that is compressed fails, but Flush still encoded what the encoder held
// and pushed it, with the held header, to the gone client. It now fails
// with context.Canceled (http.ResponseController's Flush; http.Flusher's
// has no error) and sends nothing.
func TestFlushFailsOnceClientIsGone(t *testing.T) {
	first := bytes.Repeat(repeatedLine, 100)
	for _, enc := range []string{"zstd", "br", "gzip", "deflate"} {
		t.Run(enc+"/ResponseController", func(t *testing.T) {
			var err error
			run := serveClientGone(t, http.MethodGet, enc,
				func(w http.ResponseWriter) { _, _ = w.Write(first) },
				func(w http.ResponseWriter) { err = http.NewResponseController(w).Flush() })
			assert.ErrorIs(t, err, context.Canceled, "Flush after the client left")
			assertNothingSent(t, run)
		})
		t.Run(enc+"/Flusher", func(t *testing.T) {
			run := serveClientGone(t, http.MethodGet, enc,
				func(w http.ResponseWriter) { _, _ = w.Write(first) },
				func(w http.ResponseWriter) { w.(http.Flusher).Flush() })
			assertNothingSent(t, run)
		})
	}
}

// TestFinishSendsNothingOnceClientIsGone: a handler that returns once its
// client left (its writes failed, or it wrote nothing more) had its
// response finished all the same: the encoder closed, its last block
// encoded and the held response committed and written, for nobody; and
// where the context was cancelled with a client still there (a middleware
// above that cancels it), that response, cut where the writes began to
// fail, went out as a whole one. Nothing is sent now and the response is
// aborted (panic(http.ErrAbortHandler)), as one cut short of its
// Content-Length is; the encoder goes back to its pool unclosed (see
// TestAbandonedEncoderIsReusedClean).
func TestFinishSendsNothingOnceClientIsGone(t *testing.T) {
	first := bytes.Repeat(repeatedLine, 100)
	for _, enc := range []string{"zstd", "br", "gzip", "deflate"} {
		for _, streamed := range []bool{false, true} {
			name := enc + "/held"
			if streamed {
				name = enc + "/streamed"
			}
			t.Run(name, func(t *testing.T) {
				var writeErr error
				run := serveClientGone(t, http.MethodGet, enc,
					func(w http.ResponseWriter) {
						_, _ = w.Write(first)
						if streamed {
							w.(http.Flusher).Flush()
						}
					},
					func(w http.ResponseWriter) { _, writeErr = w.Write(first) })
				assert.ErrorIs(t, writeErr, context.Canceled)
				assertNothingSent(t, run)
				assert.Equal(t, http.ErrAbortHandler, run.panicked, "the response is aborted, not finished")
			})
		}
	}
}

// TestHeadWritesFailOnceClientIsGone: a HEAD's body is never encoded, and
// its writes went on succeeding once the client left (an io.Copy from a
// database cursor read it all), where a GET's fail. They fail alike now.
func TestHeadWritesFailOnceClientIsGone(t *testing.T) {
	first := bytes.Repeat(repeatedLine, 100)
	for _, enc := range []string{"zstd", "gzip"} {
		t.Run(enc, func(t *testing.T) {
			var g goneWrites
			run := serveClientGone(t, http.MethodHead, enc,
				func(w http.ResponseWriter) { _, _ = w.Write(first) },
				func(w http.ResponseWriter) {
					_, g.writeErr = w.Write(first)
					g.copied, g.copyErr = io.Copy(w, io.LimitReader(&repeating{}, 1<<20))
				})
			assert.ErrorIs(t, g.writeErr, context.Canceled, "a Write after the client left")
			assert.ErrorIs(t, g.copyErr, context.Canceled, "an io.Copy after the client left")
			assert.Zero(t, g.copied, "bytes read for a client that left")
			assert.Nil(t, run.panicked, "a HEAD has no body to cut short")
		})
	}
}
