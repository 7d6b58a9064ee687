package httpcache

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			nl := &notingListener{Listener: ln}
			type result struct {
				reason   Reason
				recorded int
			}
			done := make(chan result, 1) // once the handler has returned
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			}))
			srv.Listener = nl
			srv.Start()
			defer srv.Close()

			res, err := srv.Client().Get(srv.URL)
			require.NoError(t, err)
			got, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			assert.Equal(t, len(content), len(got))
			assert.True(t, content == string(got), "the body sent")
			r := <-done
			assert.Equal(t, c.noStore, r.reason != ReasonNone)
			if !c.noStore {
				assert.Equal(t, len(content), r.recorded, "the body recorded")
			}

			readers := nl.readers()
			require.Len(t, readers, 1, "the connection's ReadFrom was called once")
			lr, file := readers[0].(*io.LimitedReader)
			if file {
				_, file = lr.R.(*os.File)
			}
			assert.Equal(t, c.sendfile, file, "the connection's ReadFrom was given %#v", readers[0])
		})
	}
}
