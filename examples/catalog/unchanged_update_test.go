package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnchangedUpdateKeepsPages: a PUT /products/{id} whose values are the
// product's own changed nothing but updated_at, and still invalidated the
// tag "products": every cached page of the list and of the storefront and
// every sidebar. The write API has no authentication, so any client could
// keep every page uncached with one such request a second, changing no
// data. An update that changes no value now changes nothing (updated_at
// included) and invalidates no tag; one that changes a value still does.
//
// Nor does it drop the product's own page: InvalidateOnWrite, which
// wrapped the route, dropped /products/{id} on its 200 all the same, and
// the next read of the product ran one more SELECT. The handler now drops
// the page itself, only when the product changed (or may have).
func TestUnchangedUpdateKeepsPages(t *testing.T) {
	for _, database := range []string{"sqlite", "postgres"} {
		t.Run(database, func(t *testing.T) { testUnchangedUpdateKeepsPages(t, database) })
	}
}

func testUnchangedUpdateKeepsPages(t *testing.T, database string) {
	c := startServiceWith(t, database, "simple://", func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 })
	var before Product
	c.get("/products/3", http.StatusOK).json(t, &before)
	require.Equal(t, "HIT", c.get("/products/3", http.StatusOK).header.Get("X-Cache"))
	c.get("/products?page=2", http.StatusOK)
	require.Equal(t, "HIT", c.get("/products?page=2", http.StatusOK).header.Get("X-Cache"))
	name, err := json.Marshal(before.Name)
	require.NoError(t, err)
	for _, body := range []string{
		fmt.Sprintf(`{"name": %s, "price": %v, "category_id": %d}`, name, before.Price, before.CategoryID),
		fmt.Sprintf(`{"price": %v}`, before.Price),
		fmt.Sprintf(`{"category_id": %d}`, before.CategoryID),
	} {
		r := c.do("PUT", "/products/3", body)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", body, r.body)
		var got Product
		r.json(t, &got)
		assert.Equal(t, before, got, "an update to the same values, %s, changed the product", body)
		assert.Equal(t, "HIT", c.get("/products?page=2", http.StatusOK).header.Get("X-Cache"),
			"an update to the same values, %s, flushed the list", body)
		queries := c.queries()
		w := c.get("/products/3", http.StatusOK)
		assert.Equal(t, "HIT", w.header.Get("X-Cache"), "an update to the same values, %s, dropped the product's page", body)
		assert.Equal(t, queries, c.queries(), "the product read after an update to the same values, %s, ran SQL", body)
		w.json(t, &got)
		assert.Equal(t, before, got)
	}

	// A change is a change: the list and the product's page are dropped.
	r := c.do("PUT", "/products/3", fmt.Sprintf(`{"price": %v}`, before.Price+1))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.NotEqual(t, "HIT", c.get("/products?page=2", http.StatusOK).header.Get("X-Cache"),
		"a change of price kept the list")
	w := c.get("/products/3", http.StatusOK)
	assert.NotEqual(t, "HIT", w.header.Get("X-Cache"), "a change of price kept the product's page")
	var after Product
	w.json(t, &after)
	assert.Equal(t, before.Price+1, after.Price)
	assert.Equal(t, "HIT", c.get("/products/3", http.StatusOK).header.Get("X-Cache"))
}
