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
	copied  int64
	copyErr error
}

// TestEncodedWritesFailOnceClientIsGone: the compressed output of a very
// compressible body is held back until MaxBuffer (64 KiB) of it exists,
// and a handler's writes did not fail before then, however long its
// client had been gone: a handler that stops at its first failed write
// (io.Copy from a large file or a database cursor) had tens of megabytes
// encoded for nobody (with zstd, the whole of this 64 MiB body is less
// than MaxBuffer). Once the request's context is cancelled, the encoded
// body is streamed and the connection probed: the writes fail with the
// connection's error once it reports the client gone, long before the end,
// with a Content-Length declared or not. (A cancelled context alone fails
// nothing: see TestHalfClosedClientGetsTheWholeBody.)
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
				require.Error(t, g.copyErr, "an io.Copy after the client left")
				assert.NotErrorIs(t, g.copyErr, context.Canceled, "the connection's error, not the context's")
				assert.Less(t, g.copied, int64(limit), "the io.Copy stopped before the end of its source")
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
// compress sends it once armed (after a write to the gone client failed).
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
// client hangs up, then after runs (handed the writer below, to arm it).
// It returns once compress's Handler has returned.
func serveClientGone(t *testing.T, method, enc string, before func(w http.ResponseWriter), after func(w http.ResponseWriter, below *belowWriter)) goneRun {
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
			after(w, run.below)
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

// maxGoneWrites bounds the writes untilFails makes: a hang guard, far
// beyond what it takes the connection to report a client that left.
const maxGoneWrites = 1 << 14

// untilFails calls write until it fails (the connection reported the
// client gone), at most maxGoneWrites times, and returns its error.
func untilFails(write func() error) error {
	for range maxGoneWrites {
		if err := write(); err != nil {
			return err
		}
	}
	return nil
}

// assertNothingSent checks that compress sent nothing below once armed: no
// header, no byte, no flush.
func assertNothingSent(t *testing.T, run goneRun) {
	t.Helper()
	assert.Zero(t, run.below.headers.Load(), "a header committed after a write to the gone client failed")
	assert.Zero(t, run.below.wrote.Load(), "bytes encoded and sent after a write to the gone client failed")
	assert.Zero(t, run.below.flushed.Load(), "a flush after a write to the gone client failed")
}

// TestFlushFailsOnceClientIsGone: once the client left, a write of a body
// that is compressed fails, but Flush still encoded what the encoder held
// and pushed it, with the held header, to the gone client. Once a write or
// flush below failed, a Flush returns that error (http.ResponseController's
// Flush; http.Flusher's has no error), and a Write too, and they encode and
// send nothing.
func TestFlushFailsOnceClientIsGone(t *testing.T) {
	first := bytes.Repeat(repeatedLine, 100)
	for _, enc := range []string{"zstd", "br", "gzip", "deflate"} {
		t.Run(enc+"/ResponseController", func(t *testing.T) {
			var failed, flushErr, writeErr error
			run := serveClientGone(t, http.MethodGet, enc,
				func(w http.ResponseWriter) { _, _ = w.Write(first) },
				func(w http.ResponseWriter, below *belowWriter) {
					failed = untilFails(func() error {
						if _, err := w.Write(first); err != nil {
							return err
						}
						return http.NewResponseController(w).Flush()
					})
					below.armed.Store(true)
					flushErr = http.NewResponseController(w).Flush()
					_, writeErr = w.Write(first)
				})
			require.Error(t, failed, "the writes and flushes to a client that left")
			assert.Equal(t, failed, flushErr, "a Flush after one failed")
			assert.Equal(t, failed, writeErr, "a Write after a Flush failed")
			assertNothingSent(t, run)
		})
		t.Run(enc+"/Flusher", func(t *testing.T) {
			var failed error
			run := serveClientGone(t, http.MethodGet, enc,
				func(w http.ResponseWriter) { _, _ = w.Write(first) },
				func(w http.ResponseWriter, below *belowWriter) {
					failed = untilFails(func() error {
						w.(http.Flusher).Flush()
						_, err := w.Write(first)
						return err
					})
					below.armed.Store(true)
					w.(http.Flusher).Flush()
				})
			require.Error(t, failed, "the writes to a client that left")
			assertNothingSent(t, run)
		})
	}
}

// TestFinishSendsNothingOnceClientIsGone: a handler that returns once its
// writes to a client that left failed had its response finished all the
// same: the encoder closed, its last block encoded and the held response
// committed and written, for nobody. Nothing is sent now and the response
// is aborted (panic(http.ErrAbortHandler)), as one cut short of its
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
					func(w http.ResponseWriter, below *belowWriter) {
						writeErr = untilFails(func() error {
							_, err := w.Write(first)
							return err
						})
						below.armed.Store(true) // the handler returns
					})
				require.Error(t, writeErr, "the writes to a client that left")
				assertNothingSent(t, run)
				assert.Equal(t, http.ErrAbortHandler, run.panicked, "the response is aborted, not finished")
			})
		}
	}
}

// TestHeadWritesFailOnceClientIsGone: a HEAD's body is never encoded nor
// sent, and its writes went on succeeding once the client left (an io.Copy
// from a database cursor read it all). They fail once the request's
// context is cancelled: what is sent, the header, is the same whether they
// do or not.
func TestHeadWritesFailOnceClientIsGone(t *testing.T) {
	first := bytes.Repeat(repeatedLine, 100)
	for _, enc := range []string{"zstd", "gzip"} {
		t.Run(enc, func(t *testing.T) {
			var writeErr error
			var g goneWrites
			run := serveClientGone(t, http.MethodHead, enc,
				func(w http.ResponseWriter) { _, _ = w.Write(first) },
				func(w http.ResponseWriter, _ *belowWriter) {
					_, writeErr = w.Write(first)
					g.copied, g.copyErr = io.Copy(w, io.LimitReader(&repeating{}, 1<<20))
				})
			assert.ErrorIs(t, writeErr, context.Canceled, "a Write after the client left")
			assert.ErrorIs(t, g.copyErr, context.Canceled, "an io.Copy after the client left")
			assert.Zero(t, g.copied, "bytes read for a client that left")
			assert.Nil(t, run.panicked, "a HEAD has no body to cut short")
		})
	}
}
