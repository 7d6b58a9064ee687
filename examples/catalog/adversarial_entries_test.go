package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMadeUpNamesAddNoEntries pins what a client sending made-up ids and
// headers can do to the cache: nothing. Unknown categories of the
// storefront, products and tasks that do not exist, pages past the last of
// a category, and a product page asked for with other cookies, tokens,
// languages and agents each add no entry (the cache keys none of those
// headers, and stores no 404): the cached page is served whatever they
// send, and a request with credentials passes the cache by.
func TestMadeUpNamesAddNoEntries(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 })
	c.get("/products/1", http.StatusOK)
	c.get("/?category=1", http.StatusOK)
	before := c.svc.Cache.Stats().Entries
	require.Positive(t, before, "the backend counts no entries: the count below could not fail")
	const n = 40
	for i := range n {
		for _, tc := range []struct {
			method, path string
			status       int
		}{
			{"GET", fmt.Sprintf("/?category=%d", 100_000+i), http.StatusNotFound},
			{"GET", fmt.Sprintf("/?category=1&page=%d", 1000+i), http.StatusNotFound},
			{"GET", fmt.Sprintf("/products/%d", 100_000+i), http.StatusNotFound},
			{"HEAD", fmt.Sprintf("/products/%d", 200_000+i), http.StatusNotFound},
			{"GET", fmt.Sprintf("/api/tasks/%d", 100_000+i), http.StatusNotFound},
		} {
			r := c.do(tc.method, tc.path, "")
			assert.Equal(t, tc.status, r.status, "%s %s", tc.method, tc.path)
		}
		r := c.do("GET", "/products/1", "", fmt.Sprintf("Cookie: session=%d", i),
			fmt.Sprintf("Accept-Language: x-%d", i), fmt.Sprintf("User-Agent: agent/%d", i), fmt.Sprintf("Accept: text/x-%d", i))
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "HIT", r.header.Get("X-Cache"), "request %d with its own headers", i)
		// A request with credentials is answered by the handler, and its
		// answer is not stored (a shared cache's rule).
		r = c.do("GET", "/products/1", "", fmt.Sprintf("Authorization: Bearer t%d", i))
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "BYPASS", r.header.Get("X-Cache"), "request %d with credentials", i)
	}
	assert.LessOrEqual(t, c.svc.Cache.Stats().Entries-before, int64(0),
		"%d requests for made-up ids and headers added entries", 7*n)
}
