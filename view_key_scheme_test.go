package caching

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyHeaders sets r.URL.Scheme and r.Host from X-Forwarded-Proto and
// X-Forwarded-Host, as gorilla/handlers.ProxyHeaders does behind a proxy
// that terminates TLS.
func proxyHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := r.Header.Get("X-Forwarded-Proto"); s != "" {
			r.URL.Scheme = s
		}
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			r.Host = h
		}
		next.ServeHTTP(w, r)
	})
}

// TestProxySchemeKeyed: behind a proxy that terminates TLS, a proxy-headers
// middleware outside the cache sets r.URL.Scheme from X-Forwarded-Proto.
// The key took the scheme from r.TLS only, so an https client was served
// the page made for an http one (http:// links: a downgrade, or a page the
// browser blocks as mixed content).
func TestProxySchemeKeyed(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<link rel="canonical" href="%s://%s%s">`, cmp(r.URL.Scheme, "http"), r.Host, r.URL.Path)
	})
	h := proxyHeaders(c.Cached(time.Minute)(page))
	require.Equal(t, `<link rel="canonical" href="http://shop.example/p">`,
		get(h, "/p", "X-Forwarded-Proto", "http", "X-Forwarded-Host", "shop.example").Body.String())
	assert.Equal(t, `<link rel="canonical" href="https://shop.example/p">`,
		get(h, "/p", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "shop.example").Body.String(),
		"the https client got the page made for the http one")
	assert.Equal(t, `<link rel="canonical" href="http://shop.example/p">`,
		get(h, "/p", "X-Forwarded-Proto", "http", "X-Forwarded-Host", "shop.example").Body.String())
	assert.Equal(t, int64(1), c.Stats().Hits, "each scheme has its entry")

	// Path versions leave the scheme out: InvalidatePath reaches both.
	require.NoError(t, c.InvalidatePath(context.Background(), "/p"))
	get(h, "/p", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "shop.example")
	get(h, "/p", "X-Forwarded-Proto", "http", "X-Forwarded-Host", "shop.example")
	assert.Equal(t, int64(1), c.Stats().Hits, "both entries invalidated")
}

// TestAbsoluteFormSchemeKeptFromTLS: a client may send the request target
// in absolute form ("GET https://shop.example/p HTTP/1.1", RFC 9112
// section 3.2.2), and net/http then sets r.URL.Scheme from it, over a
// plain connection too. Keyed by r.URL.Scheme alone, such a request would
// store, for the https clients of a server that listens on both schemes,
// the page a handler that reads r.TLS makes for plain http.
func TestAbsoluteFormSchemeKeptFromTLS(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		fmt.Fprintf(w, `<script src="%s://%s/app.js"></script>`, scheme, r.Host)
	}))
	srv := httptest.NewServer(h) // plain http
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET https://shop.example/p HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, `<script src="http://shop.example/app.js"></script>`, string(body), "the attacker's request, over plain http")

	// An https client, as a TLS server hands it to the handler: origin
	// form, so no r.URL.Scheme.
	r := httptest.NewRequest(http.MethodGet, "/p", nil)
	r.Host, r.TLS = "shop.example", &tls.ConnectionState{HandshakeComplete: true}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, `<script src="https://shop.example/app.js"></script>`, w.Body.String())
}

// TestViewKeySchemeSpelling pins how the key spells the scheme: from r.TLS
// when r.URL.Scheme is empty (a server request in origin form) or agrees
// with it, byte for byte as before; otherwise the URL's scheme, '+', and
// the connection's, so that neither can pass for the other.
func TestViewKeySchemeSpelling(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	tests := []struct {
		scheme string
		tls    bool
		want   string
	}{
		{"", false, "v/http://shop.example#view//p"},
		{"", true, "v/https://shop.example#view//p"},
		{"http", false, "v/http://shop.example#view//p"},
		{"https", true, "v/https://shop.example#view//p"},
		{"https", false, "v/https+http://shop.example#view//p"},
		{"http", true, "v/http+https://shop.example#view//p"},
		{"HTTPS", false, "v/HTTPS+http://shop.example#view//p"},
		{"a://b#c%", false, "v/a%3A%2F%2Fb%23c%25+http://shop.example#view//p"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/p", nil)
		r.Host, r.URL.Scheme = "shop.example", tt.scheme
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		key, err := c.ViewKey(r)
		require.NoError(t, err)
		assert.Equal(t, tt.want, key, "scheme %q, TLS %v", tt.scheme, tt.tls)
	}
}
