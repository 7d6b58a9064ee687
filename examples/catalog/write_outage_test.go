package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteDuringCacheOutage: the cache is down when a write succeeds. The
// product's own path was invalidated again once the cache was back, but the
// list pages, the storefront and its sidebar (tag "products") and the
// user's statistics were not: their failed invalidation was only logged,
// and once the cache answered again they showed the data from before the
// write, X-Cache: HIT, for up to their TTL (5 and 10 minutes). The library
// now retries failed InvalidateTags and Forget calls as it does paths.
func TestWriteDuringCacheOutage(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			redis := miniredis.RunT(t)
			c := startService(t, database, "redis://"+redis.Addr()+"/0")
			const user = 4242
			const list = "/products?page=1&per_page=10"
			c.get(list, http.StatusOK)
			c.get("/", http.StatusOK)
			c.get("/?category=3", http.StatusOK)
			// A first sale: statistics with none are not stored.
			require.Equal(t, http.StatusCreated, c.do("POST", "/api/sales", fmt.Sprintf(`{"user_id": %d, "amount": 1}`, user)).status)
			assert.Equal(t, 1, c.stats(user, "weekly").Orders) // memoized in Redis
			require.Equal(t, "HIT", c.get(list, http.StatusOK).header.Get("X-Cache"))

			redis.SetError("ERR simulated outage")
			r := c.do("PUT", "/products/7", `{"name": "Written during the outage", "category_id": 3}`)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			r = c.do("POST", "/api/sales", fmt.Sprintf(`{"user_id": %d, "amount": 12.5}`, user))
			require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
			redis.SetError("")

			// Once the cache answers again (and the breaker lets calls
			// through) and the failed invalidations have been retried,
			// nothing from before the writes is served.
			waitFor(t, func() string {
				if n := c.svc.Cache.Stats().PendingInvalidations; n > 0 {
					return fmt.Sprintf("%d pending invalidations to be done", n)
				}
				if c.get(list, http.StatusOK).header.Get("X-Cache") != "HIT" {
					return "the cache to be back"
				}
				return ""
			})
			var page Page
			c.get(list, http.StatusOK).json(t, &page)
			assert.Equal(t, "Written during the outage", page.Products[6].Name, "the list shows the product before the write")
			assert.Contains(t, string(c.get("/", http.StatusOK).body), "Written during the outage", "the storefront shows the product before the write")
			assert.Contains(t, string(c.get("/?category=3", http.StatusOK).body), "Written during the outage", "the category page shows the product before the write")
			assert.Equal(t, 2, c.stats(user, "weekly").Orders, "the statistics do not count the sale")
		})
	}
}
