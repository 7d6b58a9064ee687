package main

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// guardedServer serves hostGuard(hosts) in front of a handler that answers
// 200, over a real connection, so that net/http reads each request's Host
// (an absolute-form target, HTTP/1.0 without one) as it would for the
// catalog.
func guardedServer(t *testing.T, hosts ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(hostGuard(hosts, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	t.Cleanup(srv.Close)
	return srv
}

// rawStatus sends head, a request's line and header lines without the
// final blank line, over a new connection to srv, and returns the status
// of the answer.
func rawStatus(t *testing.T, srv *httptest.Server, head string) int {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte(strings.ReplaceAll(head, "\n", "\r\n") + "\r\nConnection: close\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestWriteHostSpellings pins how hostGuard reads the Host of a write, as
// net/http hands it over: a loopback name or one of Config.Hosts in any
// case, with a port and a final dot, is taken; a request line in absolute
// form is read by its own host, as net/http does (a client that writes its
// own request line can send any Host: the check keeps browsers out, which
// send neither); a request with no Host (HTTP/1.0) or a zone that is not
// the loopback interface's is refused, and so is a write by any method but
// GET and HEAD.
func TestWriteHostSpellings(t *testing.T) {
	srv := guardedServer(t, "shop.example")
	for head, want := range map[string]int{
		"POST /api/sales HTTP/1.1\nHost: LOCALHOST.:8080":                               http.StatusOK,
		"POST /api/sales HTTP/1.1\nHost: Shop.Example.":                                 http.StatusOK,
		"POST /api/sales HTTP/1.1\nHost: shop.example:443":                              http.StatusOK,
		"POST /api/sales HTTP/1.1\nHost: [::1]:8080":                                    http.StatusOK,
		"POST http://localhost:8080/api/sales HTTP/1.1\nHost: attacker.example":         http.StatusOK,
		"POST http://attacker.example:8080/api/sales HTTP/1.1\nHost: localhost":         http.StatusForbidden,
		"POST /api/sales HTTP/1.0":                                                      http.StatusForbidden,
		"POST /api/sales HTTP/1.1\nHost: [::1%25nosuchif0]:8080":                        http.StatusForbidden,
		"POST /api/sales HTTP/1.1\nHost: shop.example.attacker.example":                 http.StatusForbidden,
		"POST /api/sales HTTP/1.1\nHost: shop.example:x":                                http.StatusForbidden,
		"PATCH /products/1 HTTP/1.1\nHost: attacker.example":                            http.StatusForbidden,
		"OPTIONS /products/1 HTTP/1.1\nHost: attacker.example":                          http.StatusForbidden,
		"PURGE /products/1 HTTP/1.1\nHost: attacker.example":                            http.StatusForbidden,
		"GET /products/1 HTTP/1.1\nHost: attacker.example":                              http.StatusOK,
		"HEAD /products/1 HTTP/1.1\nHost: attacker.example":                             http.StatusOK,
		"POST /api/sales HTTP/1.1\nHost: attacker.example\nX-HTTP-Method-Override: GET": http.StatusForbidden,
	} {
		assert.Equal(t, want, rawStatus(t, srv, head), "%q", head)
	}
}

// TestWriteHostIPv6 pins an IPv6 address in CATALOG_HOSTS: hostGuard read
// an unbracketed one (fd00::80, as an address is written outside a URL)
// as a name and a port, "fd00:" and 80, so that no write sent to
// http://[fd00::80]:8080/ was ever taken. It is taken now, whichever way
// the entry and the Host write the address, with or without brackets.
func TestWriteHostIPv6(t *testing.T) {
	srv := guardedServer(t, "fd00::80", "[FD00:0:0::81]", "[fd00::82]:8080")
	for _, host := range []string{"[fd00::80]:8080", "[fd00::80]", "[FD00::80]", "[fd00:0::80]:80", "[fd00::81]", "[fd00::82]:9"} {
		assert.Equal(t, http.StatusOK, rawStatus(t, srv, "POST /api/sales HTTP/1.1\nHost: "+host), "Host %q", host)
	}
	for _, host := range []string{"[fd00::]", "[fd00::8]:80", "[fd00::80%25eth0]", "fd00:"} {
		assert.Equal(t, http.StatusForbidden, rawStatus(t, srv, "POST /api/sales HTTP/1.1\nHost: "+host), "Host %q", host)
	}
}

// TestWriteHostsConfigRefused: a name of CATALOG_HOSTS that no Host can
// ever match (a URL, a pattern, a path, an empty one, an IPv6 address with
// a zone or a port outside brackets) was taken at start and matched
// nothing, so that the writes sent to the name meant were refused with no
// word of why. NewService refuses it now, naming it.
func TestWriteHostsConfigRefused(t *testing.T) {
	for _, bad := range []string{"http://shop.example", "*.shop.example", "shop.example/api", "", " ", ":8080",
		"shop example", "fe80::1%eth0", "[fe80::1%25eth0]", "[shop.example]", "[fd00::1", "shop.example:80:80"} {
		cfg := Config{SQLitePath: filepath.Join(t.TempDir(), "catalog.db"), Seed: 1, Logger: slog.New(slog.DiscardHandler),
			Hosts: []string{"shop.example", bad}}
		svc, err := NewService(context.Background(), cfg)
		if !assert.Error(t, err, "Hosts %q taken", bad) {
			require.NoError(t, svc.Close())
			continue
		}
		assert.Contains(t, err.Error(), "CATALOG_HOSTS", "Hosts %q", bad)
		assert.Contains(t, err.Error(), strings.TrimSpace(bad), "Hosts %q", bad)
	}
}

// TestWriteHostThroughProxy: behind a reverse proxy that sends the
// upstream's address as Host (Apache's ProxyPass without
// ProxyPreserveHost, nginx's proxy_pass with its default Host) and says
// in X-Forwarded-Host or Forwarded which name the browser asked for, a
// DNS-rebound write arrived with Host: 127.0.0.1:8080 and was taken
// whatever the proxy said. A name a proxy forwards must be the service's
// too now; a client that adds one of those fields itself can only have
// its own write refused.
func TestWriteHostThroughProxy(t *testing.T) {
	srv := guardedServer(t, "shop.example")
	for fields, want := range map[string]int{
		"X-Forwarded-Host: attacker.example":                             http.StatusForbidden,
		"X-Forwarded-Host: attacker.example:80":                          http.StatusForbidden,
		"X-Forwarded-Host: shop.example, attacker.example":               http.StatusForbidden,
		"X-Forwarded-Host: shop.example\nX-Forwarded-Host: evil.example": http.StatusForbidden,
		"Forwarded: for=192.0.2.1;host=attacker.example;proto=http":      http.StatusForbidden,
		`Forwarded: for=192.0.2.1, Host="attacker.example:8080"`:         http.StatusForbidden,
		"X-Forwarded-Host: shop.example":                                 http.StatusOK,
		"X-Forwarded-Host: SHOP.example:443, localhost":                  http.StatusOK,
		`Forwarded: for="[2001:db8::1]";host="shop.example:443"`:         http.StatusOK,
		"X-Forwarded-For: 192.0.2.1":                                     http.StatusOK,
	} {
		assert.Equal(t, want, rawStatus(t, srv, "POST /api/sales HTTP/1.1\nHost: 127.0.0.1:8080\n"+fields), "%q", fields)
	}
	// A read is answered whatever the proxy says.
	assert.Equal(t, http.StatusOK, rawStatus(t, srv, "GET /products/1 HTTP/1.1\nHost: 127.0.0.1\nX-Forwarded-Host: attacker.example"))
}
