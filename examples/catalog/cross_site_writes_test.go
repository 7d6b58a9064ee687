package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCrossSiteWrites: the JSON write routes accepted a body of any
// Content-Type, or none. A form or fetch(..., {mode: "no-cors"}) with
// Content-Type text/plain (or application/x-www-form-urlencoded, or
// multipart/form-data, or no Content-Type at all: a Blob with no type) is a
// "simple" cross-origin request: a browser sends it with no CORS preflight.
// So any web page a user of the service opened could create products,
// record sales and place orders on it (the catalog on 127.0.0.1:8080, or
// one behind cookie auth added by whoever copies it). Requiring
// Content-Type: application/json forces a preflight, which the service
// (sending no CORS headers) refuses.
func TestCrossSiteWrites(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 })
	products := c.count(`SELECT COUNT(*) FROM products`)
	sales := c.count(`SELECT COUNT(*) FROM sales`)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/products", `{"name":"Planted by another site","price":1,"category_id":1}`},
		{"PUT", "/products/3", `{"price":0.01}`},
		{"POST", "/api/sales", `{"user_id":7,"amount":999999}`},
		{"POST", "/api/orders", `{"user_id":7,"product_id":1,"quantity":1000}`},
		{"POST", "/api/reports", `{"user_id":7,"month":"2026-11"}`},
	} {
		for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
			"multipart/form-data; boundary=x", "", "application/json-seq", "application/jsonx", "text/json"} {
			headers := []string{"Origin: https://evil.example", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: no-cors"}
			if ct != "" {
				headers = append(headers, "Content-Type: "+ct)
			}
			r := c.doRaw(tc.method, tc.path, tc.body, headers...)
			assert.Equal(t, http.StatusUnsupportedMediaType, r.status, "%s %s with Content-Type %q was accepted: %s", tc.method, tc.path, ct, r.body)
			assert.Contains(t, string(r.body), "Content-Type: application/json", "%s %s", tc.method, tc.path)
		}
	}
	assert.Equal(t, products, c.count(`SELECT COUNT(*) FROM products`), "a cross-site write created a product")
	assert.Equal(t, sales, c.count(`SELECT COUNT(*) FROM sales`), "a cross-site write recorded a sale")
	assert.Zero(t, c.count(`SELECT COUNT(*) FROM orders`), "a cross-site write placed an order")

	// JSON, with the parameters a client may add, is taken.
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"} {
		r := c.doRaw("POST", "/api/sales", `{"user_id":7,"amount":1}`, "Content-Type: "+ct)
		assert.Equal(t, http.StatusCreated, r.status, "Content-Type %q: %s", ct, r.body)
	}
}
