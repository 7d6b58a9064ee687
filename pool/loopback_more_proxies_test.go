package pool_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/pool"
)

// TestLoopbackOnlyRefusesMoreProxyHeaders: LoopbackOnly admitted a request
// from loopback that a proxy on the same machine had forwarded when the
// proxy said so only with a header outside its list: the bare X-Forwarded
// (the legacy form of Forwarded, for=...), the X-Original-* copies that
// nginx's ingress controller keeps (X-Original-Forwarded-For), Envoy's
// X-Envoy-External-Address (an Istio or Envoy sidecar forwards to the
// application over loopback), Azure Front Door's X-Azure-ClientIP and
// X-Azure-SocketIP, Google's X-Appengine-User-Ip and X-ProxyUser-Ip.
// Then also Fly.io's Fly-Client-IP, Vercel's X-Vercel-Forwarded-For,
// WebLogic's WL-Proxy-Client-IP, Imperva's Incap-Client-IP, Cloudflare's
// CF-Connecting-IPv6, any other of Envoy's X-Envoy-* fields (a sidecar adds
// them to every request it forwards: X-Envoy-Original-Path,
// X-Envoy-Attempt-Count...) and any of Tailscale's Tailscale-* fields
// (tailscale serve forwards a tailnet client's request to a loopback port
// with Tailscale-User-Login and the like). Each names or speaks for a
// client elsewhere: the request is refused, as for X-Forwarded-For.
func TestLoopbackOnlyRefusesMoreProxyHeaders(t *testing.T) {
	for _, name := range []string{
		"X-Forwarded",
		"x_forwarded",
		"X-Original-Forwarded-For",
		"X-Original-Forwarded-Host",
		"X-Envoy-External-Address",
		"X-Azure-ClientIP",
		"X-Azure-SocketIP",
		"X-Appengine-User-Ip",
		"X-ProxyUser-Ip",
		"Fly-Client-IP",
		"X-Vercel-Forwarded-For",
		"WL-Proxy-Client-IP",
		"wl_proxy_client_ip",
		"Incap-Client-IP",
		"CF-Connecting-IPv6",
		"X-Envoy-Original-Path",
		"X-Envoy-Attempt-Count",
		"x_envoy_internal",
		"Tailscale-User-Login",
		"Tailscale-Headers-Info",
	} {
		t.Run(name, func(t *testing.T) {
			assert.False(t, loopbackWith(name), "a request that %s says was forwarded is admitted", name)
		})
	}
	// The prefixes refuse the families they name only: a field whose name
	// merely starts alike is no proxy's.
	for _, name := range []string{"X-Envoyer", "Tailscaled", "X-Request-Id"} {
		t.Run(name, func(t *testing.T) {
			assert.True(t, loopbackWith(name), "a local request with %s is refused", name)
		})
	}
}

// loopbackWith reports whether LoopbackOnly admits a request from and for
// 127.0.0.1 that carries the field name.
func loopbackWith(name string) bool {
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/admin/pool-stats", nil)
	req.RemoteAddr = "127.0.0.1:4000"
	req.Header[name] = []string{"198.51.100.1"}
	return pool.LoopbackOnly(req)
}
