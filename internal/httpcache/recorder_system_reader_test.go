package httpcache

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// panickingFile is a handler's reader that embeds an *os.File (so it is a
// syscall.Conn, which net's sendfile takes) but has a Read of its own,
// which reads ok bytes of the file, then panics.
type panickingFile struct {
	*os.File
	ok int
}

func (p *panickingFile) Read(b []byte) (int, error) {
	if p.ok <= 0 {
		panic("file reader broke")
	}
	n, err := p.File.Read(b[:min(len(b), p.ok)])
	p.ok -= n
	return n, err
}

// Regression: a handler's reader of a type of its own that embeds an
// *os.File (a syscall.Conn) went to the ReadFrom below as the system's
// (bySystem): where net/http reads it through its Read (the first 512
// bytes it sniffs, and the whole of a chunked or HEAD response) the call
// below was still marked, and a panic of that Read was taken for the
// writer's (PanickedBelow) rather than the handler's. Only the standard
// library's own files and connections (and io.LimitedReaders of them) go
// below as they are.
func TestRecorderReadFromOwnFileTypeIsHandlers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("f", 4096)), 0o600))
	open := func(t *testing.T, ok int) *panickingFile {
		f, err := os.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		return &panickingFile{File: f, ok: ok}
	}

	for _, c := range []struct {
		name      string
		committed bool // the handler wrote the status before the copy
		reader    func(t *testing.T) io.Reader
	}{
		// net/http reads the first 512 bytes through Read, to sniff.
		{"own type, committed", true, func(t *testing.T) io.Reader { return open(t, 0) }},
		// The Recorder sniffs the first 512; net/http copies a chunked
		// body through Read (an io.LimitedReader has no WriteTo).
		{"limited reader of own type, chunked", false, func(t *testing.T) io.Reader {
			return &io.LimitedReader{R: open(t, sniffLen), N: 2000}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.reader(t)
			type result struct {
				panicked any
				below    bool
			}
			done := make(chan result, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				rec, rw := readFromRecorder(true, w, http.Header{"Cache-Control": {"no-store"}})
				defer func() {
					rec.Detach()
					done <- result{recover(), rec.PanickedBelow()}
				}()
				if c.committed {
					rw.WriteHeader(http.StatusOK)
				}
				_, _ = rw.(io.ReaderFrom).ReadFrom(r)
			}))
			defer srv.Close()

			res, err := srv.Client().Get(srv.URL)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
			got := <-done
			assert.Equal(t, "file reader broke", got.panicked)
			assert.False(t, got.below, "the panic of the handler's reader is not the writer's")
		})
	}
}

// Regression: io.Copy(w, f) with an *os.File (or a *net.TCPConn) reaches
// the Recorder's ReadFrom not with the file but with the reader the
// file's own WriteTo hands io.Copy (os.fileWithoutWriteTo, net's
// tcpConnWithoutWriteTo: the file or connection with its WriteTo hidden),
// which net's sendfile and splice take as they take the file. bySystem
// took only *os.File, *net.TCPConn and *net.UnixConn, so an uncacheable
// response copied with io.Copy went below behind the Recorder's reader,
// and net/http copied it through a buffer rather than with sendfile or
// splice.
func TestRecorderIOCopySystemReaderGoesBelow(t *testing.T) {
	content := strings.Repeat("0123456789abcdef", 4096) // 64 KiB
	path := filepath.Join(t.TempDir(), "f.bin")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))

	// conn returns a TCP connection that reads content, then io.EOF.
	conn := func(t *testing.T) io.Reader {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, content)
			_ = c.Close()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	file := func(t *testing.T) io.Reader {
		f, err := os.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		return f
	}

	for _, c := range []struct {
		name   string
		reader func(t *testing.T) io.Reader
	}{
		{"file", file},
		{"tcp conn", conn},
	} {
		for _, hold := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/hold=%v", c.name, hold), func(t *testing.T) {
				r := c.reader(t)
				got, readers := getNoting(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					rec, rw := readFromRecorder(hold, w, http.Header{
						"Cache-Control":  {"no-store"},
						"Content-Type":   {"application/octet-stream"},
						"Content-Length": {strconv.Itoa(len(content))},
					})
					_, err := io.Copy(rw, r)
					assert.NoError(t, err)
					rec.Finish()
					assert.NoError(t, rec.Send())
				}))
				assert.True(t, content == got, "the body sent")
				require.Len(t, readers, 1, "the connection's ReadFrom was called once")
				_, system := readers[0].(syscall.Conn)
				assert.True(t, system, "the connection's ReadFrom was given %T, which sendfile and splice do not take", readers[0])
			})
		}
	}
}
