package caching

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowReaderBody is larger than what loopback socket buffers hold, so that
// a handler writing it through to a client that never reads blocks.
const slowReaderBody = 24 << 20

// stalledClient sends a GET for path on a raw connection and never reads
// the response: the server's writes to it block once the socket buffers are
// full. The connection closes with the test.
func stalledClient(t *testing.T, addr, path string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: shop.example\r\n\r\n", path)
	require.NoError(t, err)
}

// waiterGet gets url as a second client of shop.example does, while the
// first one's request is under way, and returns the response's body and
// header. It fails the test if the response takes longer than timeout: the
// waiter must not wait for the first client.
func waiterGet(t *testing.T, url string, timeout time.Duration) ([]byte, http.Header) {
	t.Helper()
	client := &http.Client{Timeout: timeout}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Host = "shop.example"
	resp, err := client.Do(req)
	require.NoError(t, err, "the waiter must not wait for the leader's client")
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return got, resp.Header
}

// TestCachedSlowReaderLeaderDoesNotBlockWaiters: the first request for a
// key ran the handler and wrote its body through to its client as it came;
// when that client did not read, the handler blocked in Write, and every
// other request for the key waited for it, for as long as the client kept
// its connection open. A handler's run is now independent of its client:
// the waiters get the response once the handler has made it.
func TestCachedSlowReaderLeaderDoesNotBlockWaiters(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	body := bytes.Repeat([]byte("0123456789abcdef"), slowReaderBody/16)
	var runs, returned atomic.Int32
	started := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		select {
		case started <- struct{}{}:
		default:
		}
		time.Sleep(50 * time.Millisecond) // the second request joins this run
		for p := body; len(p) > 0; p = p[min(len(p), 64<<10):] {
			if _, err := w.Write(p[:min(len(p), 64<<10)]); err != nil {
				return
			}
		}
		returned.Add(1)
	})
	// The run writes 24 MiB, seconds under -race on a loaded machine: a
	// CollapseTimeout of a minute, so that the waiter waits for it rather
	// than giving up after the default 5 s and running the handler itself.
	srv := httptest.NewServer(c.Cached(time.Minute, MaxBodySize(2*slowReaderBody), CacheStatusHeader("X-Cache"), CollapseTimeout(time.Minute))(h))
	t.Cleanup(srv.Close)

	stalledClient(t, srv.Listener.Addr().String(), "/export")
	<-started

	got, header := waiterGet(t, srv.URL+"/export", 20*time.Second)
	assert.True(t, bytes.Equal(body, got), "the waiter gets the whole body")
	assert.Equal(t, "HIT", header.Get("X-Cache"), "the waiter is served the leader's response")
	assert.EqualValues(t, 1, runs.Load(), "the handler ran once")
	assert.EqualValues(t, 1, returned.Load(), "the leader's handler returned, its client still not reading")
}

// TestCachedSlowReaderBodyReachesLeader: the leader's own client, reading
// slowly, still gets the whole response, byte for byte.
func TestCachedSlowReaderBodyReachesLeader(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	body := bytes.Repeat([]byte("slow reader "), 300<<10/12)
	srv := httptest.NewServer(c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for p := body; len(p) > 0; p = p[min(len(p), 1000):] {
			w.Write(p[:min(len(p), 1000)])
		}
	})))
	t.Cleanup(srv.Close)
	for i := range 2 {
		resp, err := http.Get(srv.URL + "/slow")
		require.NoError(t, err)
		var got bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		resp.Body.Close()
		assert.True(t, bytes.Equal(body, got.Bytes()), "request %d gets the whole body", i)
	}
	assert.EqualValues(t, 1, c.Stats().Hits)
}
