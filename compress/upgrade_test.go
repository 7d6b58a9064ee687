package compress_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestUpgradeHeaderKeepsVary: any request with an Upgrade header (on
// HTTP/1.1 a client can add one to a plain GET) skipped the middleware: the
// 200 went out without "Vary: Accept-Encoding", so a shared cache stored
// the identity response as the only variant. Now it is handled like any
// GET, and Negotiate agrees with what is sent (a cache keys by it).
func TestUpgradeHeaderKeepsVary(t *testing.T) {
	cz := compress.Must(compress.Options{})
	srv := httptest.NewServer(cz.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, strings.Repeat("<p>hi</p>", 300))
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Upgrade", "anything")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	assert.Equal(t, resp.Header.Get("Content-Encoding"), cz.Negotiate(req))
}

// TestWebSocketStyleUpgrade: a real upgrade through the middleware over a
// real connection, in both ways handlers do it: WriteHeader(101) then
// Hijack (coder/websocket), or Hijack then write the 101 on the connection
// (gorilla/websocket). The client gets the 101 untouched (no
// Content-Encoding, no Vary) and the connection then carries the protocol.
func TestWebSocketStyleUpgrade(t *testing.T) {
	for _, style := range []string{"WriteHeader then Hijack", "Hijack then write"} {
		t.Run(style, func(t *testing.T) {
			srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Upgrade") != "echo" {
					http.Error(w, "upgrade required", http.StatusUpgradeRequired)
					return
				}
				var conn net.Conn
				var brw *bufio.ReadWriter
				var err error
				if style == "WriteHeader then Hijack" {
					w.Header().Set("Upgrade", "echo")
					w.Header().Set("Connection", "Upgrade")
					w.WriteHeader(http.StatusSwitchingProtocols)
					conn, brw, err = http.NewResponseController(w).Hijack()
					if err != nil {
						return
					}
				} else {
					conn, brw, err = http.NewResponseController(w).Hijack()
					if err != nil {
						return
					}
					_, _ = io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
					_ = brw.Flush()
				}
				defer conn.Close()
				line, err := brw.ReadString('\n')
				if err != nil {
					return
				}
				_, _ = io.WriteString(conn, "echo: "+line)
			})))
			defer srv.Close()

			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\nAccept-Encoding: gzip\r\n\r\n")
			require.NoError(t, err)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Content-Encoding"))
			assert.Empty(t, resp.Header.Get("Vary"))
			_, err = io.WriteString(conn, "ping\n")
			require.NoError(t, err)
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "echo: ping\n", line)
		})
	}
}
