package compress_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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
