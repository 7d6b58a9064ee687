package pool_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// TestLoopbackOnlyZonedHost: a client that names the IPv6 loopback with a
// zone (http://[::1%25lo]:8080/, RFC 6874) sends that Host as it is, and
// net/http hands it through unchanged in r.Host: LoopbackOnly refused it,
// though it names loopback as [::1] does (an IP literal: no DNS rebinding).
// A zoned address that is not loopback, or a zone on an IPv4 literal, is
// still refused.
func TestLoopbackOnlyZonedHost(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Host
		if !pool.LoopbackOnly(r) {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	for host, want := range map[string]int{
		"[::1%25lo]:8080":       http.StatusOK,
		"[::1%25lo]":            http.StatusOK,
		"[::1%25eth0]:8080":     http.StatusOK,
		"[fe80::1%25lo]:8080":   http.StatusForbidden,
		"[::%25lo]:8080":        http.StatusForbidden,
		"127.0.0.1%25lo:8080":   http.StatusForbidden, // a zone on an IPv4 literal
		"[127.0.0.1%25lo]:8080": http.StatusForbidden,
	} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		_, err = c.Write([]byte("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		resp.Body.Close()
		c.Close()
		assert.Equal(t, want, resp.StatusCode, "Host %q", host)
		if resp.StatusCode != http.StatusBadRequest {
			assert.Equal(t, host, got, "r.Host as sent")
		}
	}
}
