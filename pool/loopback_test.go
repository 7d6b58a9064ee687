package pool_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/go-caching/caching/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoopbackOnlyRefusesProxiedRequests: a request from loopback that a
// proxy on the same machine forwarded was admitted when the proxy said so
// with Via, or with a header map key in another case than net/http's.
func TestLoopbackOnlyRefusesProxiedRequests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remote string
		header string // a raw map key: no canonicalization
		want   bool
	}{
		{"loopback", "127.0.0.1:4000", "", true},
		{"loopback, other 127/8 address", "127.0.0.2:4000", "", true},
		{"ipv6 loopback", "[::1]:4000", "", true},
		{"ipv4-mapped loopback", "[::ffff:127.0.0.1]:4000", "", true},
		{"loopback with an unrelated header", "127.0.0.1:4000", "X-Request-Id", true},
		{"remote peer", "203.0.113.9:4000", "", false},
		{"unix socket or no address", "@", "", false},
		{"empty address", "", "", false},
		{"Via", "127.0.0.1:4000", "Via", false},
		{"via, lower case", "127.0.0.1:4000", "via", false},
		{"Forwarded", "127.0.0.1:4000", "Forwarded", false},
		{"FORWARDED", "127.0.0.1:4000", "FORWARDED", false},
		{"X-Forwarded-For", "127.0.0.1:4000", "X-Forwarded-For", false},
		{"x-forwarded-for, lower case", "127.0.0.1:4000", "x-forwarded-for", false},
		{"X_Forwarded_For, underscores", "127.0.0.1:4000", "X_Forwarded_For", false},
		{"X-Forwarded-Host", "127.0.0.1:4000", "X-Forwarded-Host", false},
		{"X-Forwarded-Proto", "[::1]:4000", "X-Forwarded-Proto", false},
		{"X-Real-IP", "127.0.0.1:4000", "X-Real-IP", false},
		{"X-Real-Ip, canonical", "127.0.0.1:4000", "X-Real-Ip", false},
		{"x-real-ip, lower case", "127.0.0.1:4000", "x-real-ip", false},
		{"True-Client-IP", "127.0.0.1:4000", "True-Client-IP", false},
		{"CF-Connecting-IP", "127.0.0.1:4000", "CF-Connecting-IP", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/admin/pool-stats", nil)
			req.RemoteAddr = tc.remote
			if tc.header != "" {
				req.Header[tc.header] = []string{"198.51.100.1"}
			}
			assert.Equal(t, tc.want, pool.LoopbackOnly(req))
		})
	}
}

// TestLoopbackOnlyOverHTTP sends the proxy headers over a real connection,
// as a proxy would, in the spellings a client may choose.
func TestLoopbackOnlyOverHTTP(t *testing.T) {
	var reg pool.Registry
	require.NoError(t, reg.Register("n", func() any { return 1 }))
	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: pool.LoopbackOnly})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for header, want := range map[string]int{
		"":                http.StatusOK,
		"via":             http.StatusForbidden,
		"X-FORWARDED-FOR": http.StatusForbidden,
		"x-real-ip":       http.StatusForbidden,
		"Forwarded":       http.StatusForbidden,
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		if header != "" {
			req.Header[header] = []string{"for=198.51.100.1"}
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "header %q", header)
	}
}

// TestStatsExplainNegativeOverflow: /admin/pool-stats showed
// "overflow": -8 under "sqlalchemy" with nothing saying what it means.
func TestStatsExplainNegativeOverflow(t *testing.T) {
	var reg pool.Registry
	mc := memcache.New("127.0.0.1:1") // gomemcache dials nothing until used
	mc.MaxIdleConns = 8
	require.NoError(t, reg.RegisterMemcache("memcache", mc))
	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: func(*http.Request) bool { return true }})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, rec.Code)

	var got map[string]struct {
		Overflow   int `json:"overflow"`
		SQLAlchemy struct {
			Overflow int    `json:"overflow"`
			Note     string `json:"note"`
		} `json:"sqlalchemy"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	s := got["memcache"]
	assert.Equal(t, 0, s.Overflow, "the top-level overflow is never negative")
	assert.Equal(t, -8, s.SQLAlchemy.Overflow, "SQLAlchemy's overflow is open minus size")
	assert.Contains(t, s.SQLAlchemy.Note, "negative while fewer than size connections are open")
}

// TestLoopbackOnlyRefusesForeignHost: a browser on the machine, on a page
// of attacker.example whose name was rebound to 127.0.0.1 (DNS rebinding),
// sends same-origin requests from loopback with Host: attacker.example and
// no proxy header, and reads the answers. LoopbackOnly looked at the peer
// and the proxy headers only, and admitted them.
func TestLoopbackOnlyRefusesForeignHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1":              true,
		"127.0.0.1:8080":         true,
		"127.0.0.2:8080":         true,
		"127.255.255.254":        true,
		"[::1]":                  true,
		"[::1]:8080":             true,
		"[::ffff:127.0.0.1]:80":  true,
		"localhost":              true,
		"localhost:8080":         true,
		"LocalHost:8080":         true,
		"localhost.":             true,
		"localhost.:8080":        true,
		"app.localhost:8080":     true,
		"a.b.LOCALHOST":          true,
		"":                       false, // HTTP/1.0 with no Host
		"attacker.example":       false,
		"attacker.example:8080":  false,
		"localhost.example":      false,
		"localhost.example:8080": false,
		"notlocalhost":           false,
		"evillocalhost:8080":     false,
		".localhost":             false,
		"127.0.0.1.nip.io":       false,
		"127.1":                  false, // a browser sends 127.0.0.1
		"0.0.0.0:8080":           false,
		"[::]:8080":              false,
		"10.0.0.1:8080":          false,
		"[fe80::1%25lo]:8080":    false,
		"my-laptop:8080":         false, // the machine's own name: not known to be loopback
	} {
		req := httptest.NewRequest(http.MethodGet, "/admin/pool-stats", nil)
		req.RemoteAddr, req.Host = "127.0.0.1:4000", host
		assert.Equal(t, want, pool.LoopbackOnly(req), "Host %q", host)
	}
}

// TestLoopbackOnlyHostOverHTTP sends a rebound name's Host over a real
// loopback connection.
func TestLoopbackOnlyHostOverHTTP(t *testing.T) {
	var reg pool.Registry
	require.NoError(t, reg.Register("n", func() any { return 1 }))
	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: pool.LoopbackOnly})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for host, want := range map[string]int{
		"":                      http.StatusOK, // the server's own, 127.0.0.1:port
		"localhost":             http.StatusOK,
		"attacker.example:8080": http.StatusForbidden,
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		if host != "" {
			req.Host = host
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "Host %q", host)
	}
}
