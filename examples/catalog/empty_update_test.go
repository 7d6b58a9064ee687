package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmptyUpdateFlushes: PUT /products/{id} with {} (no field) was
// answered 200: it changed nothing but updated_at, and still invalidated
// the tag "products", every cached page of the list and of the storefront
// and every sidebar. One such request a second from any client kept the
// catalog's pages uncached while changing no data. An update with nothing
// to change is a 400 now, and invalidates nothing.
func TestEmptyUpdateFlushes(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 })
	var before Product
	c.get("/products/3", http.StatusOK).json(t, &before)
	c.get("/products?page=2", http.StatusOK)
	require.Equal(t, "HIT", c.get("/products?page=2", http.StatusOK).header.Get("X-Cache"))
	for _, body := range []string{`{}`, `{"price": null}`, `{"name": null, "price": null, "category_id": null}`} {
		r := c.do("PUT", "/products/3", body)
		assert.Equal(t, http.StatusBadRequest, r.status, "an update of no field, %s: %s", body, r.body)
		assert.Contains(t, string(r.body), "give at least one of name, price and category_id")
	}
	assert.Equal(t, "HIT", c.get("/products?page=2", http.StatusOK).header.Get("X-Cache"),
		"an update that changed no field flushed the list")
	var after Product
	c.get("/products/3", http.StatusOK).json(t, &after)
	assert.Equal(t, before, after, "an update of no field changed the product")
}
