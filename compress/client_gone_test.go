package compress_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

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
