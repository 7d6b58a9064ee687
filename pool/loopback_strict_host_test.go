package pool_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// loopbackInterface returns this machine's loopback interface and one that
// is not loopback (nil if none).
func loopbackInterface(t *testing.T) (lo, other *net.Interface) {
	ifs, err := net.Interfaces()
	require.NoError(t, err)
	for i := range ifs {
		switch {
		case ifs[i].Flags&net.FlagLoopback != 0 && lo == nil:
			lo = &ifs[i]
		case ifs[i].Flags&net.FlagLoopback == 0 && other == nil:
			other = &ifs[i]
		}
	}
	if lo == nil {
		t.Skip("no loopback interface")
	}
	return lo, other
}

// hostStatus sends a GET with the Host header host, as written, over a
// real loopback connection to srv, and returns the status.
func hostStatus(t *testing.T, srv *httptest.Server, host string) int {
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoopbackOnlyStrictHost: LoopbackOnly took any zone on the IPv6
// loopback for one ([::1%25evil.com], [::1%25eth0]), and any IP literal
// in brackets or out ([127.0.0.1], ::1, [localhost]): it read the Host
// loosely. A Host literal must now parse strictly (net/netip) as a
// loopback address: IPv6 in brackets, IPv4 and names out of them, a port
// of digits, and a zone only where one means something for ::1 (RFC 4291
// gives it link-local scope, on the loopback interface): the name or the
// index of this machine's loopback interface.
func TestLoopbackOnlyStrictHost(t *testing.T) {
	lo, other := loopbackInterface(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !pool.LoopbackOnly(r) {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	cases := map[string]int{
		"localhost":                    http.StatusOK,
		"localhost:8080":               http.StatusOK,
		"127.0.0.1":                    http.StatusOK,
		"127.3.2.1:8080":               http.StatusOK,
		"[::1]":                        http.StatusOK,
		"[::1]:8080":                   http.StatusOK,
		"[::1%25" + lo.Name + "]:8080": http.StatusOK,
		"[::1%" + lo.Name + "]":        http.StatusOK,
		"[::1%25" + strconv.Itoa(lo.Index) + "]:8080": http.StatusOK,
		"[::1%25evil.com]":                            http.StatusForbidden,
		"[::1%25evil.com]:8080":                       http.StatusForbidden,
		"[::1%evil.com]":                              http.StatusForbidden,
		"[::1%25nosuchif0]":                           http.StatusForbidden,
		"[::1%2599999]":                               http.StatusForbidden,
		"[::1%25]":                                    http.StatusForbidden,
		"[::1%2525lo]":                                http.StatusForbidden,
		"[127.0.0.1]:8080":                            http.StatusForbidden,
		"[localhost]:8080":                            http.StatusForbidden,
		"::1":                                         http.StatusForbidden,
		"[::1]x":                                      http.StatusForbidden,
		"[::1]:80x":                                   http.StatusForbidden,
		"localhost:8080:9":                            http.StatusForbidden,
		"127.0.0.1:x":                                 http.StatusForbidden,
	}
	if other != nil {
		cases["[::1%25"+other.Name+"]:8080"] = http.StatusForbidden
	}
	for host, want := range cases {
		assert.Equal(t, want, hostStatus(t, srv, host), "Host %q", host)
	}
}
