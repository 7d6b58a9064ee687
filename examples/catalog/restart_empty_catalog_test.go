package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestartAfterDeletingEveryProduct: the migration seeded whenever the
// products table was empty, not when the database was new. A shop that
// deleted every product (DELETE /products/{id}, all 204) and restarted got
// the demo's catalog back, its 10 categories a second time (the sidebar
// listed each twice), and 4 fake sales per product among its real sales,
// users 1 to 100: their statistics and reports changed, and what a shared
// cache held of them was not invalidated. Only the start that creates the
// tables seeds them now.
func TestRestartAfterDeletingEveryProduct(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			const seed = 20
			cfg := Config{SQLitePath: filepath.Join(t.TempDir(), "catalog.db"), Seed: seed, CacheURL: "simple://",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if database == "postgres" {
				cfg.DatabaseURL = postgresURL(t)
			}
			start := func() (*Service, *client) {
				svc, err := NewService(context.Background(), cfg)
				require.NoError(t, err)
				srv := httptest.NewServer(svc.Handler)
				t.Cleanup(srv.Close)
				return svc, &client{t: t, base: srv.URL, svc: svc}
			}
			svc, c := start()
			require.Equal(t, seed, c.count(`SELECT COUNT(*) FROM products`), "a new database is seeded")
			for id := 1; id <= seed; id++ {
				require.Equal(t, http.StatusNoContent, c.do("DELETE", fmt.Sprintf("/products/%d", id), "").status)
			}
			c.post("/api/sales", `{"user_id": 7, "amount": 10}`, http.StatusCreated)
			sales, cats := c.count(`SELECT COUNT(*) FROM sales`), c.count(`SELECT COUNT(*) FROM categories`)
			require.NoError(t, svc.Close())

			svc2, c2 := start()
			defer svc2.Close()
			assert.Equal(t, 0, c2.count(`SELECT COUNT(*) FROM products`), "a restart put the deleted products back")
			assert.Equal(t, cats, c2.count(`SELECT COUNT(*) FROM categories`), "a restart added categories")
			assert.Equal(t, sales, c2.count(`SELECT COUNT(*) FROM sales`), "a restart added sales")
		})
	}
}
