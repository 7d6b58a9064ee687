package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOtherClientForwardingHeadersNeverReachOrigin: rewrite dropped the
// client's X-Forwarded-* and a short list of other forwarding fields, but
// not X-Scheme (Tornado's xheaders read it as the request's protocol),
// Client-Ip (Rails' RemoteIp), Front-End-Https (Microsoft front ends: "the
// request came over TLS"), the CDNs' client-address fields, or the bare
// X-Forwarded. None is in the key: an origin that builds its links,
// redirects or per-address answers from a forged one had that page stored
// for every client.
func TestOtherClientForwardingHeadersNeverReachOrigin(t *testing.T) {
	forged := []string{
		"X-Scheme", "X-Url-Scheme", "Front-End-Https", "Client-Ip", "X-Cluster-Client-Ip",
		"X-ProxyUser-Ip", "CF-Connecting-IP", "Cf-Visitor", "Fastly-Client-IP", "True-Client-IP",
		"X-Forwarded", "X-Original-URL", "X-Original-Forwarded-For", "X-Rewrite-URL",
		"X-Original-Host", "X-Host", "X-HTTP-Method-Override", "X-Arr-Ssl", "Proxy-Client-IP",
		"WL-Proxy-Client-IP", "X_Scheme", "x-url-scheme", "X-Custom-Tenant",
		"X-Script-Name", "SCRIPT_NAME",
	}
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		for name, v := range r.Header {
			if strings.Contains(strings.Join(v, ","), "evil") {
				fmt.Fprintf(w, "%s=%s\n", name, v)
			}
		}
	}), nil, "-drop-request-headers", "X-Custom-Tenant")
	var attack []string
	for _, name := range forged {
		attack = append(attack, name, "evil")
	}
	_, b := send(t, http.MethodGet, front.URL+"/page", attack...) // the attacker
	assert.Empty(t, b, "forged fields the origin saw")
	res, b := send(t, http.MethodGet, front.URL+"/page") // a victim
	assert.Empty(t, b, "what the victim got (%s)", res.Header.Get(statusHeader))
}

// TestProxySetsForwarded: the README and rewrite's comment said the proxy
// sets Forwarded with X-Forwarded-For, -Host and -Proto; it only dropped
// the client's (ProxyRequest.SetXForwarded sets no Forwarded), so an
// origin that reads RFC 7239's field saw none. It now gets one from the
// client's connection and request.
func TestProxySetsForwarded(t *testing.T) {
	var got atomic.Value
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Values("Forwarded"))
	}), nil)
	send(t, http.MethodGet, front.URL+"/", "Forwarded", "for=6.6.6.6;host=evil.example")
	host := strings.TrimPrefix(front.URL, "http://")
	assert.Equal(t, []string{`for=127.0.0.1;host="` + host + `";proto=http`}, got.Load())
}

// An IPv6 client address is quoted and bracketed (RFC 7239 section 6),
// a host that is a token is not quoted, and a TLS client's proto is https.
func TestForwardedValue(t *testing.T) {
	origin, err := url.Parse("http://origin.internal")
	require.NoError(t, err)
	for _, tc := range []struct {
		remote, host string
		tls          bool
		want         string
	}{
		{"192.0.2.1:4711", "shop.example", false, `for=192.0.2.1;host=shop.example;proto=http`},
		{"[2001:db8::1]:4711", "shop.example:8443", true, `for="[2001:db8::1]";host="shop.example:8443";proto=https`},
		{"not an address", `a"b`, false, `host="a\"b";proto=http`},
	} {
		t.Run(tc.remote, func(t *testing.T) {
			in := httptest.NewRequest(http.MethodGet, "/", nil)
			in.RemoteAddr, in.Host = tc.remote, tc.host
			if !tc.tls {
				in.TLS = nil
			} else if in.TLS == nil {
				in = httptest.NewRequest(http.MethodGet, "https://"+tc.host+"/", nil)
				in.RemoteAddr, in.Host = tc.remote, tc.host
			}
			pr := &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
			rewrite(origin, nil)(pr)
			assert.Equal(t, []string{tc.want}, pr.Out.Header.Values("Forwarded"))
		})
	}
}

// -drop-request-headers takes field names, '_' read as '-'.
func TestFlagDropRequestHeaders(t *testing.T) {
	cfg, err := parseFlags([]string{"-origin", "http://o", "-drop-request-headers", "x-tenant, X_Api_Version"}, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, []string{"X-Tenant", "X-Api-Version"}, cfg.dropHeaders)
	_, err = parseFlags([]string{"-origin", "http://o", "-drop-request-headers", "X-Tenant:1"}, func(string) string { return "" })
	assert.ErrorContains(t, err, "not a header name")
}
