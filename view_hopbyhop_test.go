package caching

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hopEnv is a view, in the default mode or SharedCache, around a real
// httputil.ReverseProxy in front of a real origin: the proxy removes the
// fields a request's Connection header names before the origin sees it.
type hopEnv struct {
	front *httptest.Server
	calls atomic.Int64
}

// newHopEnv serves /home, which varies on Accept-Language ("bonjour" for
// French, "hello" otherwise), and /graphql, a page on a plain GET and a
// WebSocket (101) on an upgrade.
func newHopEnv(t *testing.T, shared bool) *hopEnv {
	e := &hopEnv{}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		if r.URL.Path == "/graphql" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Language")
		if strings.HasPrefix(r.Header.Get("Accept-Language"), "fr") {
			io.WriteString(w, "bonjour")
			return
		}
		io.WriteString(w, "hello")
	}))
	t.Cleanup(origin.Close)
	u, err := url.Parse(origin.URL)
	require.NoError(t, err)
	c := Must(nil)
	t.Cleanup(func() { c.Close() })
	opts := []ViewOption{CacheStatusHeader("X-Cache")}
	if shared {
		opts = append(opts, SharedCache())
	}
	e.front = httptest.NewServer(c.Cached(time.Hour, opts...)(httputil.NewSingleHostReverseProxy(u)))
	t.Cleanup(e.front.Close)
	return e
}

// raw sends a GET of path with the header lines given, as written, on a
// new connection, and returns the response with its body read.
func (e *hopEnv) raw(t *testing.T, path string, lines ...string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", e.front.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n", path, e.front.Listener.Addr())
	for _, l := range lines {
		req += l + "\r\n"
	}
	_, err = io.WriteString(conn, req+"\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode == http.StatusSwitchingProtocols {
		return res, ""
	}
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// A client that names Accept-Language in Connection gets its request to the
// origin without it: its response must not be stored as the French page.
func TestHopByHopFieldIsNotAVariant(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			e := newHopEnv(t, shared)
			res, body := e.raw(t, "/home", "Accept-Language: fr", "Connection: keep-alive, Accept-Language")
			assert.Equal(t, "hello", body, "the origin never saw the field")
			assert.Equal(t, "BYPASS", res.Header.Get("X-Cache"))

			for i := range 2 {
				res, body = e.raw(t, "/home", "Accept-Language: fr")
				assert.Equal(t, "bonjour", body, "a French client, request %d (X-Cache: %s)", i, res.Header.Get("X-Cache"))
			}
			assert.Equal(t, "HIT", res.Header.Get("X-Cache"))
			assert.Equal(t, int64(2), e.calls.Load())

			// Naming a field is enough, stored entry or not: never a HIT.
			res, _ = e.raw(t, "/home", "Accept-Language: fr", "Connection: Accept-Language")
			assert.Equal(t, "BYPASS", res.Header.Get("X-Cache"))
			assert.Equal(t, int64(3), e.calls.Load())
		})
	}
}

// An upgrade to a URL whose plain GET is stored reaches the origin.
func TestUpgradeIsNeverAnsweredFromTheCache(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			e := newHopEnv(t, shared)
			for range 2 {
				_, body := e.raw(t, "/graphql")
				assert.Equal(t, "hello", body)
			}
			require.Equal(t, int64(1), e.calls.Load(), "the plain GET is stored")

			res, _ := e.raw(t, "/graphql", "Connection: Upgrade", "Upgrade: websocket",
				"Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
			assert.Equal(t, http.StatusSwitchingProtocols, res.StatusCode, "X-Cache: %s", res.Header.Get("X-Cache"))
			assert.Equal(t, int64(2), e.calls.Load())
		})
	}
}

// The connection options every browser sends leave a request cacheable.
func TestConnectionOptionsKeepCaching(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			e := newHopEnv(t, shared)
			e.raw(t, "/home", "Connection: keep-alive")
			for _, c := range []string{"keep-alive", "Keep-Alive", "close", "keep-alive, TE", " , close ,"} {
				res, body := e.raw(t, "/home", "Connection: "+c, "TE: trailers")
				assert.Equal(t, "hello", body)
				assert.Equal(t, "HIT", res.Header.Get("X-Cache"), "Connection: %s", c)
			}
			assert.Equal(t, int64(1), e.calls.Load())
		})
	}
}
