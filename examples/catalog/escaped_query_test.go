package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestEscapedQuerySpellings: the cache keys a query parameter as the client
// spelled it (caching.CanonicalQuery: a page that echoes its query must not
// store one client's unescaped text for everyone), and the handlers read
// it unescaped, so page=%32 was page 2 under a key of its own, as were
// pag%65=2, per_page=%31%30 and category=%33: every character of the
// parameters the key holds can be escaped, in upper or lower case hex,
// which is tens of thousands of keys per page, each a copy of the page
// stored for its TTL (filling Redis, or flushing the pages from a
// simple:// store), where the README promises one key per page. A
// parameter the key holds, escaped in its name or its value (a '%' or a
// '+'), is now a 400, which is not stored, as any other spelling of its
// number is.
func TestEscapedQuerySpellings(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 })
	for _, p := range []string{"/products?page=2&per_page=10", "/?page=2&category=3"} {
		c.get(p, http.StatusOK)
		assert.Equal(t, "HIT", c.get(p, http.StatusOK).header.Get("X-Cache"), p)
	}
	entries := c.svc.Cache.Stats().Entries
	for _, path := range []string{
		"/products?page=%32&per_page=10",
		"/products?page=2&per_page=%31%30",
		"/products?page=2&per_page=1%30",
		"/products?pag%65=2&per_page=10",
		"/products?page=2&per%5Fpage=10",
		"/products?page=2&per%5fpage=10",
		"/products?page=%32",
		"/?page=%32&category=3",
		"/?page=2&category=%33",
		"/?page=2&c%61tegory=3",
	} {
		t.Run(path, func(t *testing.T) {
			r := c.do("GET", path, "")
			assert.Equal(t, http.StatusBadRequest, r.status, "X-Cache: %s", r.header.Get("X-Cache"))
			assert.NotEqual(t, "HIT", c.do("GET", path, "").header.Get("X-Cache"), "the spelling is an entry of its own")
		})
	}
	assert.Equal(t, entries, c.svc.Cache.Stats().Entries, "the escaped spellings were stored")
	// A parameter the key leaves out may be escaped: it is not in the key.
	assert.Equal(t, "HIT", c.get("/products?page=2&per_page=10&utm_source=%6Dail", http.StatusOK).header.Get("X-Cache"))
}

// TestEscapedPathSpellings: the list's path escaped (/product%73,
// /%70roducts: net/http routes them as /products) was a key of its own
// for each spelling, as an escaped query parameter was
// (TestEscapedQuerySpellings), and as an escaped id was before canonicalID
// refused it: 3^8 spellings of the path, times every page. It is a 400
// now, answered before the view, which records a version of every path it
// looks up.
func TestEscapedPathSpellings(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 })
	c.get("/products?page=2", http.StatusOK)
	entries := c.svc.Cache.Stats().Entries
	for _, path := range []string{"/product%73?page=2", "/%70roducts?page=2", "/%70roducts", "/PRODUCT%73"} {
		t.Run(path, func(t *testing.T) {
			r := c.do("GET", path, "")
			if path == "/PRODUCT%73" { // no route: the mux's 404
				assert.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
				return
			}
			assert.Equal(t, http.StatusBadRequest, r.status, "X-Cache: %s", r.header.Get("X-Cache"))
			assert.NotEqual(t, "HIT", c.do("GET", path, "").header.Get("X-Cache"), "the spelling is an entry of its own")
		})
	}
	assert.Equal(t, entries, c.svc.Cache.Stats().Entries, "the escaped spellings were stored")
}
