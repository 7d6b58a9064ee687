package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// h2cOrigin is an origin that accepts an HTTP/1.1 upgrade to h2c (RFC 7540
// section 3.2, as golang.org/x/net/http2/h2c and Envoy do): it answers
// "101 Switching Protocols" and then reads the connection as its own. Real
// h2c speaks HTTP/2 frames there; this one reads the requests that follow
// as HTTP/1.1, which the tunnel carries just the same, and records the
// X-Forwarded-For each says. Other requests get a cacheable page.
func h2cOrigin(t *testing.T, seen func(xff string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(strings.ToLower(r.Header.Get("Upgrade")), "h2c") { // a token of it, as x/net's h2c reads it
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "page for %s", r.Header.Get("X-Forwarded-For"))
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
		brw.Flush()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		for {
			req, err := http.ReadRequest(brw.Reader)
			if err != nil {
				return
			}
			seen(req.Header.Get("X-Forwarded-For"))
			fmt.Fprint(brw, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ntunneled")
			brw.Flush()
		}
	})
}

// TestH2CUpgradeNeverReachesOrigin: a client's "Upgrade: h2c" (with
// "Connection: Upgrade, HTTP2-Settings", as curl --http2 sends it) went
// through the cache, which lets h2c pass as the HTTP/1.1 request it is, and
// httputil.ReverseProxy passed the upgrade on to the origin. An origin that
// speaks h2c answered 101, and the proxy then tunnelled the client's
// connection to it: every request the client sent down that tunnel
// reached the origin untouched (h2c smuggling, Bishop Fox 2020), with the
// X-Forwarded-For, X-Forwarded-Host or X-Original-URL it forged, past the
// proxy's rewrite (which the README promises keeps a client's forwarding
// fields from the origin) and past the cache. The proxy now sends an h2c
// upgrade on as the plain request it is.
func TestH2CUpgradeNeverReachesOrigin(t *testing.T) {
	for _, upgrade := range []string{"h2c", "websocket, H2C"} { // the second one the cache passes through uncached
		t.Run(upgrade, func(t *testing.T) {
			var mu sync.Mutex
			var forged []string
			front, _ := startProxy(t, h2cOrigin(t, func(xff string) {
				mu.Lock()
				defer mu.Unlock()
				forged = append(forged, xff)
			}), nil)
			addr := strings.TrimPrefix(front.URL, "http://")
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
			br := bufio.NewReader(conn)
			_, err = fmt.Fprintf(conn, "GET /page HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
				"Upgrade: %s\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", addr, upgrade)
			require.NoError(t, err)
			res, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			assert.NotEqual(t, http.StatusSwitchingProtocols, res.StatusCode, "the proxy tunnelled the client to the origin")
			if res.StatusCode == http.StatusSwitchingProtocols {
				// Down the tunnel: a request the proxy's rewrite never sees.
				_, err = fmt.Fprintf(conn, "GET /admin HTTP/1.1\r\nHost: origin\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
				require.NoError(t, err)
				if res, err := http.ReadResponse(br, nil); err == nil {
					res.Body.Close()
				}
			} else {
				assert.Equal(t, "page for 127.0.0.1", string(body), "the page as a plain GET of it")
			}
			mu.Lock()
			defer mu.Unlock()
			assert.Empty(t, forged, "X-Forwarded-For of the requests the origin read off the tunnel")
		})
	}
}
