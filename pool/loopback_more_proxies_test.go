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
// X-Azure-SocketIP, Google's X-Appengine-User-Ip and X-ProxyUser-Ip. Each
// names a client elsewhere: the request is refused, as for X-Forwarded-For.
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
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/admin/pool-stats", nil)
			req.RemoteAddr = "127.0.0.1:4000"
			req.Header[name] = []string{"198.51.100.1"}
			assert.False(t, pool.LoopbackOnly(req), "a request that %s says was forwarded is admitted", name)
		})
	}
}
