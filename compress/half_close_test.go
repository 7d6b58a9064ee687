package compress_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// halfClosedGet sends a GET with Accept-Encoding enc (none when "") to srv
// over a connection whose write side it then closes (shutdown(SHUT_WR), as
// a client that has nothing more to send may do), and reads the response.
func halfClosedGet(t *testing.T, srv *httptest.Server, enc string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	req := "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n"
	if enc != "" {
		req += "Accept-Encoding: " + enc + "\r\n"
	}
	_, err = io.WriteString(conn, req+"\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the response's header")
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err, "the response's body read whole")
	return res, body
}

// TestHalfClosedClientGetsTheWholeBody: net/http cancels a request's
// context when its HTTP/1 client closes its write side, though the client
// still reads (its connection reader sees EOF), and an uncompressed
// handler's writes all reach it. Compressed, its writes failed with
// context.Canceled and the response was aborted: a cancelled context is
// not proof that the client left, a failed write is. The handler writes
// once its context is cancelled, so that each case is the same whatever
// the scheduling: a body held back whole, one that streams past MaxBuffer
// of output, one with a Content-Length, and one the handler flushes.
func TestHalfClosedClientGetsTheWholeBody(t *testing.T) {
	// A small MaxBuffer keeps the bodies small (and the test quick under
	// -race): large is more than it once compressed, small less.
	const maxBuffer = 4 << 10
	small := jsonBody(20 << 10)
	large := jsonBody(256 << 10)
	shapes := []struct {
		name     string
		body     []byte
		declared bool
		flush    bool
	}{
		{name: "held", body: small},
		{name: "streamed", body: large},
		{name: "Content-Length", body: large, declared: true},
		{name: "flushed", body: small, flush: true},
	}
	mw := compress.Must(compress.Options{MaxBuffer: maxBuffer})
	for _, enc := range []string{"", "zstd", "br", "gzip", "deflate"} {
		for _, compressed := range []bool{false, true} {
			if enc != "" && !compressed {
				continue // the control: net/http alone, uncompressed
			}
			for _, shape := range shapes {
				name := fmt.Sprintf("enc=%s/middleware=%t/%s", enc, compressed, shape.name)
				t.Run(name, func(t *testing.T) {
					writeErrs := make(chan error, 1)
					var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						var werr error
						defer func() { writeErrs <- werr }()
						select {
						case <-r.Context().Done(): // the client half-closed
						case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
							werr = fmt.Errorf("net/http did not cancel the context of a half-closed client")
							return
						}
						w.Header().Set("Content-Type", "application/json")
						if shape.declared {
							w.Header().Set("Content-Length", strconv.Itoa(len(shape.body)))
						}
						for off := 0; off < len(shape.body) && werr == nil; off += 4 << 10 {
							_, werr = w.Write(shape.body[off:min(off+4<<10, len(shape.body))])
							if werr == nil && shape.flush {
								werr = http.NewResponseController(w).Flush()
							}
						}
					})
					if compressed {
						h = mw.Handler(h)
					}
					srv := httptest.NewServer(h)
					defer srv.Close()
					res, raw := halfClosedGet(t, srv, enc)
					assert.NoError(t, <-writeErrs, "the handler's writes")
					assert.Equal(t, http.StatusOK, res.StatusCode)
					assert.Equal(t, enc, res.Header.Get("Content-Encoding"))
					assert.Equal(t, shape.body, decode(t, enc, raw), "the whole body")
				})
			}
		}
	}
}
