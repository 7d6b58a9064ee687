package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOrderSaleOverMaxAmount: maxAmount is "the largest price and the
// largest sale" (handlers.go), and the README says the bound keeps every
// sum of sales far inside float64's range and within the 2^53 cents
// float64 counts exactly; POST /api/sales refuses an amount over 1,000,000.
// But an order of a product at the largest price times the largest
// quantity recorded a sale of 1,000,000,000: the bound was 1,000 times
// looser than the one the README reasons from (90,000 orders of one user
// passed 2^53 cents). Such an order is now a 400, and its job, for an order
// stored by the version before, fails for good, recording nothing.
func TestOrderSaleOverMaxAmount(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", withWorkers(2, func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 }))
	var yacht, boat Product
	c.post("/products", `{"name":"Yacht","price":1000000,"category_id":1}`, http.StatusCreated).json(t, &yacht)
	c.post("/products", `{"name":"Boat","price":1000.01,"category_id":1}`, http.StatusCreated).json(t, &boat)
	for _, tc := range []struct {
		product  int64
		quantity int
	}{{yacht.ID, 1000}, {yacht.ID, 2}, {boat.ID, 1000}} {
		r := c.do("POST", "/api/orders", `{"user_id": 5077, "product_id": `+jsonInt(tc.product)+`, "quantity": `+strconv.Itoa(tc.quantity)+`}`)
		assert.Equal(t, http.StatusBadRequest, r.status, "product %d x %d: %s", tc.product, tc.quantity, r.body)
		assert.Contains(t, string(r.body), "over 1000000", "product %d x %d", tc.product, tc.quantity)
	}
	assert.Zero(t, c.count(`SELECT COUNT(*) FROM orders WHERE user_id = 5077`), "a refused order was stored")

	// The largest sale itself is an order like any other.
	id := c.enqueue("/api/orders", `{"user_id": 5077, "product_id": `+jsonInt(yacht.ID)+`, "quantity": 1}`)
	var res OrderResult
	require.NoError(t, json.Unmarshal(c.waitTask(id, "succeeded").Result, &res))
	assert.Equal(t, float64(maxAmount), res.Amount)

	// An order stored by the version before, which did not refuse it.
	ctx := context.Background()
	var order int64
	require.NoError(t, c.svc.Store.queryOne(ctx, `INSERT INTO orders (user_id, product_id, quantity, created_at, price) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		[]any{5078, yacht.ID, 1000, time.Now().Unix(), yacht.Price}, &order))
	job, err := c.svc.api.queue.client.Insert(ctx, orderArgs{OrderID: order}, nil)
	require.NoError(t, err)
	failed := c.waitTask(strconv.FormatInt(job.Job.ID, 10), "failed")
	assert.Contains(t, failed.Error, "over 1000000")
	assert.Zero(t, c.count(`SELECT COUNT(*) FROM sales WHERE user_id = 5078`), "a sale over the largest was recorded")
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
