package caching

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// h2StalledClient opens an unencrypted HTTP/2 connection to addr that
// announces a flow-control window of 0, sends a GET for path (Host
// shop.example) and never reads: the server may send the response's
// header, never a byte of its body. The connection closes with the test.
func h2StalledClient(t *testing.T, addr, path string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	frame := func(typ, flags byte, stream uint32, payload []byte) []byte {
		b := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags}
		b = binary.BigEndian.AppendUint32(b, stream)
		return append(b, payload...)
	}
	// HPACK literal fields with an indexed name, without indexing.
	lit := func(index byte, v string) []byte { return append([]byte{index, byte(len(v))}, v...) }
	var hpack []byte
	hpack = append(hpack, 0x82, 0x86) // :method GET, :scheme http
	hpack = append(hpack, lit(0x04, path)...)
	hpack = append(hpack, lit(0x01, "shop.example")...)
	var out []byte
	out = append(out, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"...)
	out = append(out, frame(0x4, 0, 0, []byte{0, 4, 0, 0, 0, 0})...) // SETTINGS: INITIAL_WINDOW_SIZE = 0
	out = append(out, frame(0x4, 0x1, 0, nil)...)                    // SETTINGS ACK
	out = append(out, frame(0x1, 0x5, 1, hpack)...)                  // HEADERS, END_STREAM|END_HEADERS
	_, err = conn.Write(out)
	require.NoError(t, err)
}

// flushingOrigin is a real origin server that writes body in 16 KiB pieces,
// flushing after each, without a Content-Length (chunked), cacheable for a
// minute; runs counts its requests.
func flushingOrigin(t *testing.T, body []byte, runs *atomic.Int32) *url.URL {
	t.Helper()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		for p := body; len(p) > 0; p = p[min(len(p), 16<<10):] {
			if _, err := w.Write(p[:min(len(p), 16<<10)]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(origin.Close)
	u, err := url.Parse(origin.URL)
	require.NoError(t, err)
	return u
}

// TestSharedCacheFlushingSlowLeaderDoesNotBlockWaiters: in front of a
// reverse proxy, which flushes every write of a chunked origin response,
// every flush was written to the first client of a key before the handler
// went on; when that client did not read (an HTTP/2 client with a window of
// 0 is enough), the handler stopped, and every other request for the key
// waited for it for as long as the client kept its connection. The
// handler's run no longer waits for its client: the other requests get the
// stored response once the origin has sent it.
func TestSharedCacheFlushingSlowLeaderDoesNotBlockWaiters(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	body := bytes.Repeat([]byte("0123456789abcdef"), (256<<10)/16)
	var runs atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(flushingOrigin(t, body, &runs))
	srv := httptest.NewUnstartedServer(c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(proxy))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)

	h2StalledClient(t, srv.Listener.Addr().String(), "/export")
	deadline := time.Now().Add(2 * time.Second)
	for runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.EqualValues(t, 1, runs.Load(), "the stalled client's request reached the origin")
	time.Sleep(50 * time.Millisecond) // its handler is now writing to the stalled stream

	got, header := waiterGet(t, srv.URL+"/export", 2*time.Second)
	assert.True(t, bytes.Equal(body, got), "the waiter gets the whole body")
	assert.Equal(t, "HIT", header.Get("X-Cache"), "the waiter is served the leader's stored response")
	assert.EqualValues(t, 1, runs.Load(), "the origin answered once")
}

// TestSharedCacheFlushReachesLeaderAtOnce: what a reverse proxy flushes
// reaches the first client while the origin is still sending (the client
// reads the first part before the origin sends the rest), and the whole
// response is then stored for the next request.
func TestSharedCacheFlushReachesLeaderAtOnce(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	firstRead := make(chan struct{})
	var runs atomic.Int32
	var restSent atomic.Bool
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "first part\n")
		w.(http.Flusher).Flush()
		select {
		case <-firstRead:
		case <-time.After(30 * time.Second): // the test fails below
		}
		restSent.Store(true)
		io.WriteString(w, "second part\n")
	}))
	t.Cleanup(origin.Close)
	u, err := url.Parse(origin.URL)
	require.NoError(t, err)
	srv := httptest.NewServer(c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(httputil.NewSingleHostReverseProxy(u)))
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: time.Minute}

	resp, err := client.Get(srv.URL + "/live")
	require.NoError(t, err)
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "first part\n", line)
	// Decided by what the origin did, not by how long the read took (a 1s
	// bound failed on a loaded machine): it holds the rest until the part
	// is read, or for 30s.
	assert.False(t, restSent.Load(), "the flushed part came while the origin held the rest")
	close(firstRead)
	rest, err := io.ReadAll(br)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "second part\n", string(rest))
	assert.Equal(t, "MISS", resp.Header.Get("X-Cache"))

	resp, err = client.Get(srv.URL + "/live")
	require.NoError(t, err)
	all, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "first part\nsecond part\n", string(all))
	assert.Equal(t, "HIT", resp.Header.Get("X-Cache"), "the flushed response was stored")
	assert.EqualValues(t, 1, runs.Load())
}
