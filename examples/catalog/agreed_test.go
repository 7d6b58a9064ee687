package main

// agreed_test.go: what a client was answered holds when the job behind the
// answer runs later: an order is charged the price of when it was placed,
// and its sale is dated then; a report asked for after a sale counts the
// sale.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startJobWorker starts a second service on cfg's database and cache that
// works the jobs (count at a time) and serves nothing: the worker of a web
// process started with cfg, which only enqueues. It is closed when the test
// ends.
func startJobWorker(t *testing.T, cfg Config, count int) *Service {
	t.Helper()
	withWorkers(count, nil)(&cfg)
	svc, err := NewService(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Close()) })
	return svc
}

// waitFinished waits until task id has succeeded or failed, and returns it.
func (c *client) waitFinished(id string) task {
	c.t.Helper()
	var last task
	waitFor(c.t, func() string {
		if last = c.task(id); last.Status == "succeeded" || last.Status == "failed" {
			return ""
		}
		return fmt.Sprintf("task %s to finish; it is %+v", id, last)
	})
	return last
}

// TestOrderChargesPriceWhenPlaced: an order is placed while no process
// works the jobs, the product's price changes, and then the order's job
// runs. The order is charged the price of when it was placed (202), not
// the price when its job ran: in the task's result, the sale, the order's
// row and the user's statistics.
func TestOrderChargesPriceWhenPlaced(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			var cfg Config
			// A web process that only enqueues, and a cache that the
			// worker started below shares.
			c := startServiceWith(t, database, "file://"+filepath.ToSlash(t.TempDir()), func(c *Config) { cfg = *c })
			const user = 31
			before := c.stats(user, "yearly") // memoized in the shared cache (the seed gave them sales)
			var p Product
			c.get("/products/12", http.StatusOK).json(t, &p)

			id := c.enqueue("/api/orders", `{"user_id": 31, "product_id": 12, "quantity": 3}`)
			assert.Equal(t, "pending", c.task(id).Status)
			r := c.do("PUT", "/products/12", fmt.Sprintf(`{"price": %v}`, p.Price+100))
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)

			startJobWorker(t, cfg, 1)
			done := c.waitTask(id, "succeeded")
			var res OrderResult
			require.NoError(t, json.Unmarshal(done.Result, &res), "%s", done.Result)
			want := roundCents(3 * p.Price)
			assert.Equal(t, want, res.Amount, "charged %v a unit, the price when the job ran; the order was placed at %v", res.Amount/3, p.Price)
			var amount float64
			require.NoError(t, c.svc.Store.queryOne(context.Background(), `SELECT s.amount FROM sales s JOIN orders o ON o.sale_id = s.id WHERE o.id = ?`,
				[]any{res.OrderID}, &amount))
			assert.Equal(t, want, amount, "the sale recorded")
			after := c.stats(user, "yearly")
			assert.Equal(t, before.Orders+1, after.Orders)
			assert.InDelta(t, before.Total+want, after.Total, 0.001, "the user's statistics")
		})
	}
}

// TestOrderDatedWhenPlaced: an order placed just before midnight at the
// end of a month, while no process works the jobs, is processed after
// midnight. Its sale is dated when the order was placed: it is in the
// report of the order's month, not of the next.
func TestOrderDatedWhenPlaced(t *testing.T) {
	placed := time.Date(2026, 11, 30, 23, 59, 30, 0, time.UTC)
	ran := time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC)
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			var cfg Config
			// A web process that only enqueues, whose clock says the order
			// is placed at 23:59:30, and a cache that the worker started
			// below shares.
			c := startServiceWith(t, database, "file://"+filepath.ToSlash(t.TempDir()), func(c *Config) {
				c.now = func() time.Time { return placed }
				cfg = *c
			})
			const user = 5301 // beyond the seeded users: no sales yet
			var p Product
			c.get("/products/16", http.StatusOK).json(t, &p)
			id := c.enqueue("/api/orders", `{"user_id": 5301, "product_id": 16, "quantity": 2}`)
			assert.Equal(t, "pending", c.task(id).Status)

			// The worker's clock says the job runs after midnight.
			cfg.now = func() time.Time { return ran }
			startJobWorker(t, cfg, 1)
			var res OrderResult
			require.NoError(t, json.Unmarshal(c.waitTask(id, "succeeded").Result, &res))
			assert.Equal(t, placed, res.CreatedAt, "the sale is dated when the order was placed, not when its job ran")

			amount := roundCents(2 * p.Price)
			var r SalesReport
			require.NoError(t, json.Unmarshal(c.waitTask(c.enqueue("/api/reports", `{"user_id": 5301, "month": "2026-11"}`), "succeeded").Result, &r))
			assert.Equal(t, SalesReport{UserID: user, Month: "2026-11", Orders: 1, Total: amount, Average: amount, Largest: amount,
				Days: []DaySales{{Day: "2026-11-30", Orders: 1, Total: amount}}}, r, "the order's month")
			// The month its job ran has no sales: its report of zeros is
			// answered at once.
			c.post("/api/reports", `{"user_id": 5301, "month": "2026-12"}`, http.StatusOK).json(t, &r)
			assert.Equal(t, SalesReport{UserID: user, Month: "2026-12", Days: []DaySales{}}, r, "the month its job ran")
		})
	}
}

// TestOrderQueuedBeforeUpgrade: orders stored by a process of the version
// before prices were recorded (a rolling deploy: their rows have no price)
// are charged the product's price only when it has not changed since the
// order was placed; otherwise that price is unknown, and the order fails
// for good, charging nothing.
func TestOrderQueuedBeforeUpgrade(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			var cfg Config
			c := startServiceWith(t, database, "file://"+filepath.ToSlash(t.TempDir()), func(c *Config) { cfg = *c })
			ctx := context.Background()
			placed := time.Now().Add(-time.Hour).Truncate(time.Second)
			// Product 14 was last changed before its order, product 15
			// after.
			var p14, p15 Product
			c.get("/products/14", http.StatusOK).json(t, &p14)
			c.get("/products/15", http.StatusOK).json(t, &p15)
			_, err := c.svc.Store.exec(ctx, `UPDATE products SET updated_at = ? WHERE id = ?`, placed.Add(-time.Minute).UnixMicro(), 14)
			require.NoError(t, err)
			_, err = c.svc.Store.exec(ctx, `UPDATE products SET updated_at = ? WHERE id = ?`, placed.Add(time.Minute).UnixMicro(), 15)
			require.NoError(t, err)
			// The orders and their jobs as the version before stored them.
			order := func(product int64) string {
				var id int64
				require.NoError(t, c.svc.Store.queryOne(ctx, `INSERT INTO orders (user_id, product_id, quantity, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
					[]any{5201, product, 2, placed.Unix()}, &id))
				res, err := c.svc.api.queue.client.Insert(ctx, orderArgs{OrderID: id}, nil)
				require.NoError(t, err)
				return strconv.FormatInt(res.Job.ID, 10)
			}
			unchanged, changed := order(14), order(15)

			startJobWorker(t, cfg, 1)
			var res OrderResult
			require.NoError(t, json.Unmarshal(c.waitTask(unchanged, "succeeded").Result, &res))
			assert.Equal(t, roundCents(2*p14.Price), res.Amount)
			assert.Equal(t, placed.UTC(), res.CreatedAt, "dated when the order was placed")
			failed := c.waitFinished(changed)
			assert.Equal(t, "failed", failed.Status, "%s", failed.Result)
			assert.Equal(t, 1, failed.Attempts, "retrying cannot help: it was not retried")
			assert.Contains(t, failed.Error, "changed since the order was placed")
			assert.Equal(t, 1, c.count(`SELECT COUNT(*) FROM sales WHERE user_id = 5201 AND created_at >= ?`, placed.Unix()), "one sale: the order of the unchanged product")
		})
	}
}

// TestReportAskedAfterSale: a report job has read the sales and is held
// there; a request for the same report without a sale since joins it, but
// one made after a sale that the job's read did not see gets a report with
// the sale.
func TestReportAskedAfterSale(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			const user = 5101
			read := make(chan struct{})
			release := make(chan struct{})
			var reads atomic.Int32
			c := startServiceWith(t, database, "simple://", withWorkers(2, func(cfg *Config) {
				cfg.now = func() time.Time { return testNow }
				cfg.reportRead = func(ctx context.Context, args reportArgs) {
					if args.UserID != user || reads.Add(1) != 1 {
						return
					}
					close(read)
					select { // the first job of user waits here
					case <-release:
					case <-ctx.Done():
					}
				}
			}))
			released := false
			defer func() {
				if !released {
					close(release)
				}
			}()
			c.post("/api/sales", `{"user_id": 5101, "amount": 10}`, http.StatusCreated)
			body := `{"user_id": 5101, "month": "2026-11"}`
			first := c.enqueue("/api/reports", body)
			select {
			case <-read:
			case <-time.After(testDeadline):
				t.Fatal("the report job did not read the sales")
			}
			assert.Equal(t, first, c.enqueue("/api/reports", body), "no sale since its read: the request joins the running job")

			c.post("/api/sales", `{"user_id": 5101, "amount": 5}`, http.StatusCreated)
			second := c.enqueue("/api/reports", body)
			close(release)
			released = true

			var got SalesReport
			require.NoError(t, json.Unmarshal(c.waitTask(second, "succeeded").Result, &got))
			assert.Equal(t, 2, got.Orders, "the report asked for after the sale (task %s; the first was %s) misses it: %+v", second, first, got)
			assert.Equal(t, 15.0, got.Total)
			require.NoError(t, json.Unmarshal(c.waitTask(first, "succeeded").Result, &got))
			assert.Equal(t, 1, got.Orders, "the first job read before the sale")

			// What is kept (if anything) has the sale.
			r := c.do("POST", "/api/reports", body)
			switch r.status {
			case http.StatusOK:
				r.json(t, &got)
			case http.StatusAccepted:
				var out map[string]string
				r.json(t, &out)
				require.NoError(t, json.Unmarshal(c.waitTask(out["task_id"], "succeeded").Result, &got))
			default:
				t.Fatalf("POST /api/reports: %d %s", r.status, r.body)
			}
			assert.Equal(t, 2, got.Orders)
		})
	}
}

// TestMigrateAddsOrderPrice: a database of the version before prices were
// recorded gets the column, however many processes start at once, and its
// orders keep a NULL price.
func TestMigrateAddsOrderPrice(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			store, db := openStore(t, database)
			ctx := context.Background()
			createTablesBeforePrice(t, store)
			_, err := store.exec(ctx, `INSERT INTO orders VALUES (1, 2, 3, 4, 5, NULL)`)
			require.NoError(t, err)

			errs := make(chan error, 3)
			for range cap(errs) {
				go func() { errs <- NewStore(db, store.postgres).Migrate(ctx, 0) }()
			}
			for range cap(errs) {
				require.NoError(t, <-errs)
			}
			require.NoError(t, store.Migrate(ctx, 0))
			var n int
			require.NoError(t, store.queryOne(ctx, `SELECT COUNT(*) FROM orders WHERE id = 1 AND price IS NULL`, nil, &n))
			assert.Equal(t, 1, n)
		})
	}
}
