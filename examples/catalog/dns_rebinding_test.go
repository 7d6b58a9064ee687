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

// TestWritesByDNSRebinding: the write API turned away writes from other web
// sites by requiring Content-Type: application/json, which a page of
// another origin cannot send without a CORS preflight (TestCrossSiteWrites).
// DNS rebinding went around it: a page on attacker.example whose name is
// rebound to 127.0.0.1 sends its fetch to its own origin, so the browser
// asks nothing first, and the request reached the catalog from loopback
// with Host: attacker.example:8080, Content-Type: application/json and the
// page's own Origin. It created, changed and deleted products, recorded
// sales and placed orders. A write is now taken only when its Host is a
// loopback name (localhost, 127.0.0.1, [::1]) or one of Config.Hosts
// (CATALOG_HOSTS); a read is answered whatever the Host.
func TestWritesByDNSRebinding(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) {
		cfg.WarmEvery, cfg.PurgeEvery = 0, 0
		cfg.Hosts = []string{"Shop.Example"}
	})
	u, err := url.Parse(c.base)
	require.NoError(t, err)
	products := c.count(`SELECT COUNT(*) FROM products`)
	sales := c.count(`SELECT COUNT(*) FROM sales`)
	var before Product
	c.get("/products/3", http.StatusOK).json(t, &before)
	writes := []struct{ method, path, body string }{
		{"POST", "/products", `{"name":"Planted by a rebound page","price":1,"category_id":1}`},
		{"PUT", "/products/3", `{"price":0.01}`},
		{"DELETE", "/products/4", ""},
		{"POST", "/api/sales", `{"user_id":7,"amount":999999}`},
		{"POST", "/api/orders", `{"user_id":7,"product_id":1,"quantity":1000}`},
		{"POST", "/api/reports", `{"user_id":7,"month":"2026-11"}`},
	}
	for _, host := range []string{"attacker.example:" + u.Port(), "attacker.example", "localhost.attacker.example:" + u.Port(),
		"127.0.0.1.attacker.example", "shop.example.attacker.example"} {
		for _, w := range writes {
			origin := "http://" + host
			r := c.do(w.method, w.path, w.body, "Host: "+host, "Origin: "+origin, "Sec-Fetch-Site: same-origin", "Sec-Fetch-Mode: cors")
			assert.Equal(t, http.StatusForbidden, r.status, "%s %s with Host %q was taken: %s", w.method, w.path, host, r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"), "%s %s", w.method, w.path)
		}
	}
	assert.Equal(t, products, c.count(`SELECT COUNT(*) FROM products`), "a rebound page created or deleted a product")
	assert.Equal(t, sales, c.count(`SELECT COUNT(*) FROM sales`), "a rebound page recorded a sale")
	assert.Zero(t, c.count(`SELECT COUNT(*) FROM orders`), "a rebound page placed an order")
	var after Product
	c.get("/products/3", http.StatusOK).json(t, &after)
	assert.Equal(t, before.Price, after.Price, "a rebound page changed a price")

	// Reads are answered whatever the Host: the catalog is public.
	assert.Equal(t, http.StatusOK, c.do("GET", "/products/3", "", "Host: attacker.example").status)

	// The loopback names and the service's own are taken.
	for _, host := range []string{u.Host, "localhost:" + u.Port(), "LOCALHOST", "[::1]:" + u.Port(), "shop.example", "SHOP.example.:443"} {
		sales := c.count(`SELECT COUNT(*) FROM sales`)
		r := c.do("POST", "/api/sales", `{"user_id":7,"amount":1}`, "Host: "+host)
		assert.Equal(t, http.StatusCreated, r.status, "Host %q: %s", host, r.body)
		assert.Equal(t, sales+1, c.count(`SELECT COUNT(*) FROM sales`), "Host %q", host)
	}
}
