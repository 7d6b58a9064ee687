package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoopbackByDNSRebinding: /admin/pool-stats, /metrics and Server-Timing
// are "loopback clients only" (pool.LoopbackOnly), which checked the peer
// address and proxy headers but not the Host. A web page on
// attacker.example whose name is rebound to 127.0.0.1 (DNS rebinding) makes
// its visitor's browser send same-origin requests to the catalog from
// loopback, with Host: attacker.example:8080 and no proxy header: they were
// admitted, and the page read the answers (same origin for the browser). A
// Host that is not a loopback name (localhost, 127.0.0.1, [::1]) is refused
// now.
func TestLoopbackByDNSRebinding(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 })
	u, err := url.Parse(c.base)
	require.NoError(t, err)
	for _, path := range []string{"/admin/pool-stats", "/metrics"} {
		r := c.do("GET", path, "", "Host: attacker.example:8080")
		assert.Equal(t, http.StatusForbidden, r.status, "%s read through a rebound name: %.80s", path, r.body)
		for _, host := range []string{u.Host, "localhost:" + u.Port()} {
			r := c.do("GET", path, "", "Host: "+host)
			assert.Equal(t, http.StatusOK, r.status, "%s with Host %s: %.80s", path, host, r.body)
		}
	}
	r := c.do("GET", "/products/1", "", "Host: attacker.example:8080")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Empty(t, r.header.Get("Server-Timing"), "Server-Timing shown through a rebound name")
	r = c.do("GET", "/products/1", "", "Host: localhost:"+u.Port())
	assert.NotEmpty(t, r.header.Get("Server-Timing"), "Server-Timing not shown to a loopback client")
}
