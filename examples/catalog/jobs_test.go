package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
)

// Settings of the job tests: how often an idle worker looks for jobs, how
// often a test looks at a task, and how long it waits for one at most (a
// retry comes a second after a failure; a periodic job, once a leader is
// elected, which takes a few seconds).
const (
	testPoll     = 20 * time.Millisecond
	testWaitStep = 20 * time.Millisecond
	testDeadline = 90 * time.Second
)

// testWorkerEnv, set in the environment of the test binary, makes it a
// catalog worker process (main with the arguments it was given) instead of
// running the tests.
const testWorkerEnv = "CATALOG_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(testWorkerEnv) != "" {
		configHook = func(cfg *Config) {
			cfg.pollInterval = testPoll
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			cfg.addWorkers = func(w *river.Workers) { river.AddWorker(w, river.WorkFunc(workBarrier)) }
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// barrierArgs is a job of the tests' worker processes: it ends once N jobs
// of its kind have started (are running or completed), itself included. Two
// of them, worked by processes that work one job at a time, end only if two
// processes work them: the first ends only once the second has started. A
// job that waited for N running at once could miss the window: the second
// saw both running and ended before the first looked again, which then
// waited for ever (its deadline, a minute).
type barrierArgs struct {
	N int `json:"n"`
}

func (barrierArgs) Kind() string { return "test.barrier" }

func workBarrier(ctx context.Context, job *river.Job[barrierArgs]) error {
	for {
		n, err := startedBarriers(ctx)
		if err != nil || n >= job.Args.N {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(testWaitStep):
		}
	}
}

// startedBarriers counts the barrier jobs running or completed, through the
// River client of the job's context, whichever its driver.
func startedBarriers(ctx context.Context) (int, error) {
	params := river.NewJobListParams().Kinds(barrierArgs{}.Kind()).
		States(rivertype.JobStateRunning, rivertype.JobStateCompleted).First(100)
	var res *river.JobListResult
	var err error
	if c, cerr := river.ClientFromContextSafely[*sql.Tx](ctx); cerr == nil {
		res, err = c.JobList(ctx, params)
	} else {
		res, err = river.ClientFromContext[pgx.Tx](ctx).JobList(ctx, params)
	}
	if err != nil {
		return 0, err
	}
	return len(res.Jobs), nil
}

// databases are the databases the job tests run on.
var databases = []string{"sqlite", "postgres"}

// withWorkers makes a service work jobs, count at a time, polling often.
func withWorkers(count int, more func(*Config)) func(*Config) {
	return func(cfg *Config) {
		cfg.Workers, cfg.pollInterval = count, testPoll
		if more != nil {
			more(cfg)
		}
	}
}

// waitFor calls cond every testWaitStep until it returns "" and fails the
// test after testDeadline with the last thing cond said it was waiting for.
func waitFor(t *testing.T, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for {
		waiting := cond()
		if waiting == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v: %s", testDeadline, waiting)
		}
		time.Sleep(testWaitStep)
	}
}

// post sends body to path and requires the status.
func (c *client) post(path, body string, status int) response {
	c.t.Helper()
	r := c.do("POST", path, body)
	require.Equal(c.t, status, r.status, "POST %s %s: %s", path, body, r.body)
	return r
}

// enqueue posts body to path, requires a 202 and returns the task id.
func (c *client) enqueue(path, body string) string {
	c.t.Helper()
	r := c.post(path, body, http.StatusAccepted)
	var out map[string]string
	r.json(c.t, &out)
	require.NotEmpty(c.t, out["task_id"])
	assert.Equal(c.t, "/api/tasks/"+out["task_id"], r.header.Get("Location"))
	return out["task_id"]
}

// task returns the task id.
func (c *client) task(id string) task {
	c.t.Helper()
	var t task
	c.get("/api/tasks/"+id, http.StatusOK).json(c.t, &t)
	return t
}

// waitTask waits until task id has status, and returns it.
func (c *client) waitTask(id, status string) task {
	c.t.Helper()
	var last task
	waitFor(c.t, func() string {
		if last = c.task(id); last.Status == status {
			return ""
		}
		return fmt.Sprintf("task %s to be %s; it is %+v", id, status, last)
	})
	return last
}

// count runs a SELECT COUNT(*) on the service's database.
func (c *client) count(query string, args ...any) int {
	c.t.Helper()
	var n int
	require.NoError(c.t, c.svc.Store.queryOne(context.Background(), query, args, &n))
	return n
}

// completed counts the completed jobs of kind.
func (c *client) completed(kind string) int {
	c.t.Helper()
	return c.count(`SELECT COUNT(*) FROM river_job WHERE state = 'completed' AND kind = '` + kind + `'`)
}

// stats reads a user's statistics.
func (c *client) stats(user int64, period string) SalesStats {
	c.t.Helper()
	var s SalesStats
	c.get(fmt.Sprintf("/api/stats/%d?period=%s", user, period), http.StatusOK).json(c.t, &s)
	return s
}

// testNow is the clock of TestJobs: mid-month, so that every sale of a test
// falls in one month.
var testNow = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

func TestJobs(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			c := startServiceWith(t, database, "simple://", withWorkers(4, func(cfg *Config) {
				cfg.now = func() time.Time { return testNow }
				cfg.Retention = 200 * 24 * time.Hour
			}))
			t.Run("an order's job records the sale and invalidates the statistics", func(t *testing.T) { testOrderJob(t, c) })
			t.Run("a report is made once and kept", func(t *testing.T) { testReportJob(t, c) })
			t.Run("an order whose product is gone fails for good", func(t *testing.T) { testOrderFails(t, c) })
			t.Run("the warm job fills the cache", func(t *testing.T) { testWarm(t, c) })
			t.Run("the purge invalidates what it deleted", func(t *testing.T) { testPurge(t, c) })
		})
	}
}

func testOrderJob(t *testing.T, c *client) {
	const user = 3
	before := c.stats(user, "yearly") // now memoized (statistics with no sales would not be)
	var p Product
	c.get("/products/5", http.StatusOK).json(t, &p)

	id := c.enqueue("/api/orders", `{"user_id": 3, "product_id": 5, "quantity": 3}`)
	done := c.waitTask(id, "succeeded")
	assert.Equal(t, "order", done.Kind)
	assert.Equal(t, 1, done.Attempts)
	assert.Empty(t, done.Error)
	var res OrderResult
	require.NoError(t, json.Unmarshal(done.Result, &res), "%s", done.Result)
	assert.Equal(t, OrderResult{OrderID: res.OrderID, SaleID: res.SaleID, UserID: user, ProductID: 5, Quantity: 3,
		Amount: roundCents(3 * p.Price), CreatedAt: testNow}, res)

	// The next read sees the sale: the job forgot the memoized statistics.
	after := c.stats(user, "yearly")
	assert.Equal(t, before.Orders+1, after.Orders)
	assert.InDelta(t, before.Total+res.Amount, after.Total, 0.001)
	// A task keeps its result.
	assert.Equal(t, done, c.task(id))
}

func testReportJob(t *testing.T, c *client) {
	const user = 5001 // beyond the seeded users: no sales yet
	c.post("/api/sales", `{"user_id": 5001, "amount": 10}`, http.StatusCreated)
	c.post("/api/sales", `{"user_id": 5001, "amount": 32.5}`, http.StatusCreated)

	id := c.enqueue("/api/reports", `{"user_id": 5001, "month": "2026-11"}`)
	done := c.waitTask(id, "succeeded")
	assert.Equal(t, "report", done.Kind)
	want := SalesReport{UserID: user, Month: "2026-11", Orders: 2, Total: 42.5, Average: 21.25, Largest: 32.5,
		Days: []DaySales{{Day: "2026-11-15", Orders: 2, Total: 42.5}}}
	var got SalesReport
	require.NoError(t, json.Unmarshal(done.Result, &got), "%s", done.Result)
	assert.Equal(t, want, got)

	// Asked again, the kept report answers at once, and nothing is queued.
	jobs := c.count(`SELECT COUNT(*) FROM river_job`)
	c.post("/api/reports", `{"user_id": 5001, "month": "2026-11"}`, http.StatusOK).json(t, &got)
	assert.Equal(t, want, got)
	assert.Equal(t, jobs, c.count(`SELECT COUNT(*) FROM river_job`))

	// An order of that month makes the kept report stale: it is made again.
	var p Product
	c.get("/products/9", http.StatusOK).json(t, &p)
	c.waitTask(c.enqueue("/api/orders", `{"user_id": 5001, "product_id": 9, "quantity": 2}`), "succeeded")
	id = c.enqueue("/api/reports", `{"user_id": 5001, "month": "2026-11"}`)
	require.NoError(t, json.Unmarshal(c.waitTask(id, "succeeded").Result, &got))
	assert.Equal(t, 3, got.Orders)
	assert.InDelta(t, 42.5+roundCents(2*p.Price), got.Total, 0.001)

	// So does a sale recorded by POST /api/sales.
	c.post("/api/sales", `{"user_id": 5001, "amount": 1}`, http.StatusCreated)
	c.waitTask(c.enqueue("/api/reports", `{"user_id": 5001, "month": "2026-11"}`), "succeeded")

	// A month with no sales is a report of zeros, answered at once: nothing
	// is queued, and nothing kept (TestReportsMadeUpUsers).
	jobs = c.count(`SELECT COUNT(*) FROM river_job`)
	c.post("/api/reports", `{"user_id": 5001, "month": "1999-01"}`, http.StatusOK).json(t, &got)
	assert.Equal(t, SalesReport{UserID: user, Month: "1999-01", Days: []DaySales{}}, got)
	assert.Equal(t, jobs, c.count(`SELECT COUNT(*) FROM river_job`))
	_, err := c.svc.api.keptReport(context.Background(), reportArgs{UserID: user, Month: "1999-01"})
	assert.ErrorIs(t, err, caching.ErrNotFound)
}

// testOrderFails: the product of an order is deleted before its job runs
// (the order is stored with its price, as the API would, of a product that
// is already gone).
func testOrderFails(t *testing.T, c *client) {
	ctx := context.Background()
	res, err := c.svc.api.queue.insertWith(ctx, func(q rowQuery) (river.JobArgs, error) {
		var id int64
		err := q(ctx, c.svc.Store.rebind(`INSERT INTO orders (user_id, product_id, quantity, created_at, price) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			[]any{3, 999999, 1, testNow.Unix(), 10}, &id)
		return orderArgs{OrderID: id}, err
	})
	require.NoError(t, err)
	failed := c.waitTask(strconv.FormatInt(res.Job.ID, 10), "failed")
	assert.Equal(t, 1, failed.Attempts, "retrying cannot help: it was not retried")
	assert.Contains(t, failed.Error, "the product ordered no longer exists")
	assert.Equal(t, json.RawMessage("null"), failed.Result)
}

// testWarm runs the warm job's work: the first pages of the list are hits
// on their first request, in either encoding, and the most active user's
// statistics are recomputed.
func testWarm(t *testing.T, c *client) {
	ctx := context.Background()
	users, err := c.svc.Store.MostActiveUsers(ctx, testNow.Add(-activeWindow), activeUsers)
	require.NoError(t, err)
	require.NotEmpty(t, users)
	top := users[0]
	before := c.stats(top, "monthly") // memoized
	// A sale the API did not see: nothing forgot the statistics.
	_, err = c.svc.Store.RecordSale(ctx, top, 12.5)
	require.NoError(t, err)
	assert.Equal(t, before, c.stats(top, "monthly"))
	require.NoError(t, c.svc.Cache.InvalidateTags(ctx, "products"))

	res, err := c.svc.api.warm(ctx)
	require.NoError(t, err)
	// The storefront's first page and warmPages pages of the list.
	stored := (1 + warmPages) * len(warmEncodings)
	assert.Equal(t, warmResult{Stored: stored, Users: len(users)}, res)
	assert.Equal(t, before.Orders+1, c.stats(top, "monthly").Orders, "the warm job recomputed the statistics")
	for _, target := range []string{"/", "/products", "/products?page=2", fmt.Sprintf("/products?page=%d", warmPages)} {
		assert.Equal(t, "HIT", c.get(target, http.StatusOK).header.Get("X-Cache"), target)
		for _, enc := range []string{"gzip", "gzip, deflate", "deflate, gzip, br, zstd"} {
			r := c.do("GET", target, "", "Accept-Encoding: "+enc)
			assert.Equal(t, "HIT", r.header.Get("X-Cache"), "%s %q", target, enc)
		}
	}
	assert.Equal(t, "MISS", c.get(fmt.Sprintf("/products?page=%d", warmPages+1), http.StatusOK).header.Get("X-Cache"))

	// Warmed again, every page is made again and replaces what is stored:
	// a page changed by a write the API did not see is fresh after it.
	_, err = c.svc.Store.exec(ctx, `UPDATE products SET name = 'Warmed again' WHERE id = 1`)
	require.NoError(t, err)
	res, err = c.svc.api.warm(ctx)
	require.NoError(t, err)
	assert.Equal(t, warmResult{Stored: stored, Users: len(users)}, res)
	var page Page
	hit := c.get("/products", http.StatusOK)
	assert.Equal(t, "HIT", hit.header.Get("X-Cache"))
	hit.json(t, &page)
	assert.Equal(t, "Warmed again", page.Products[0].Name)
}

// testPurge: the statistics and reports made of the sales the purge
// deletes are read fresh next time (the tag "sales").
func testPurge(t *testing.T, c *client) {
	ctx := context.Background()
	const user = 5002
	old := testNow.Add(-300 * 24 * time.Hour) // within a year, past the 200 days kept
	_, err := c.svc.Store.exec(ctx, `INSERT INTO sales (user_id, amount, created_at) VALUES (?, ?, ?)`, user, 50, old.Unix())
	require.NoError(t, err)
	assert.Equal(t, 1, c.stats(user, "yearly").Orders)
	month := old.Format(monthLayout)
	body := fmt.Sprintf(`{"user_id": %d, "month": %q}`, user, month)
	c.waitTask(c.enqueue("/api/reports", body), "succeeded")
	var r SalesReport
	c.post("/api/reports", body, http.StatusOK).json(t, &r)
	assert.Equal(t, 1, r.Orders)

	res, err := c.svc.api.purge(ctx, false)
	require.NoError(t, err)
	assert.Positive(t, res.Deleted)
	assert.Equal(t, testNow.Add(-200*24*time.Hour), res.Before)
	assert.Zero(t, c.count(`SELECT COUNT(*) FROM sales WHERE created_at < ?`, res.Before.Unix()))
	assert.Zero(t, c.stats(user, "yearly").Orders)
	c.post("/api/reports", body, http.StatusOK).json(t, &r) // no longer kept, and no sales left
	assert.Zero(t, r.Orders)
}

// TestReportsMadeUpUsers: every report request queued a job (its row kept
// 24 hours) and the job kept the report for 24 hours, sales or none, so a
// client asking for made-up users (or for any of the ~96,000 months of a
// real one) added a job and an entry per request: without bound on Redis,
// and on the in-process store evicting the pages it serves. As for the
// statistics (TestStatsMadeUpUsers), a month with no sales is now answered
// at once with its report of zeros, queueing nothing and keeping nothing,
// and a report job that finds no sales keeps nothing either.
func TestReportsMadeUpUsers(t *testing.T) {
	const room = 50
	c := startServiceWith(t, "sqlite", fmt.Sprintf("simple://?max_entries=%d", room), withWorkers(2, nil))
	c.get("/products/1", http.StatusOK)
	require.Equal(t, "HIT", c.get("/products/1", http.StatusOK).header.Get("X-Cache"))
	entries := c.svc.Cache.Stats().Entries
	jobs := c.count(`SELECT COUNT(*) FROM river_job`)

	report := func(user int64, month string) SalesReport {
		t.Helper()
		var r SalesReport
		c.post("/api/reports", fmt.Sprintf(`{"user_id": %d, "month": %q}`, user, month), http.StatusOK).json(t, &r)
		return r
	}
	for i := range 2 * room {
		user := int64(1_000_000 + i)
		assert.Equal(t, SalesReport{UserID: user, Month: "2026-01", Days: []DaySales{}}, report(user, "2026-01"))
	}
	for year := 1970; year < 1970+room; year++ { // long before the seeded sales
		month := fmt.Sprintf("%d-01", year)
		assert.Equal(t, SalesReport{UserID: 5, Month: month, Days: []DaySales{}}, report(5, month))
	}
	assert.Equal(t, jobs, c.count(`SELECT COUNT(*) FROM river_job`), "reports of months with no sales were queued")

	// A job whose month has no sales when it runs (they were purged since
	// the request saw them) keeps nothing.
	args := reportArgs{UserID: 2_000_000, Month: "2026-01"}
	res, err := c.svc.api.queue.client.Insert(context.Background(), reportJobArgs{reportArgs: args, Sales: 1, LastSale: 1}, nil)
	require.NoError(t, err)
	c.waitTask(strconv.FormatInt(res.Job.ID, 10), "succeeded")
	_, err = c.svc.api.keptReport(context.Background(), args)
	assert.ErrorIs(t, err, caching.ErrNotFound, "a report of zeros was kept")

	assert.Equal(t, "HIT", c.get("/products/1", http.StatusOK).header.Get("X-Cache"),
		"reports of made-up users evicted a product page")
	assert.LessOrEqual(t, c.svc.Cache.Stats().Entries-entries, int64(2),
		"%d report requests of months with no sales added entries", 3*room)
}

// TestJobRetry: the cache is down when an order's job runs. The sale is
// recorded, the invalidation fails, and the task says it is retrying; once
// the cache is back, the retry invalidates without recording the sale again.
func TestJobRetry(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			redis := miniredis.RunT(t)
			c := startServiceWith(t, database, "redis://"+redis.Addr()+"/0", withWorkers(2, nil))
			const user = 4343
			// A first sale: statistics with none are not stored.
			c.post("/api/sales", `{"user_id": 4343, "amount": 1}`, http.StatusCreated)
			assert.Equal(t, 1, c.stats(user, "weekly").Orders) // memoized in Redis
			var p Product
			c.get("/products/3", http.StatusOK).json(t, &p)

			redis.SetError("ERR simulated outage")
			id := c.enqueue("/api/orders", `{"user_id": 4343, "product_id": 3, "quantity": 2}`)
			retrying := c.waitTask(id, "retrying")
			assert.Contains(t, retrying.Error, "invalidation failed")
			assert.Equal(t, json.RawMessage("null"), retrying.Result)
			assert.Positive(t, retrying.Attempts)
			redis.SetError("")

			done := c.waitTask(id, "succeeded")
			assert.Greater(t, done.Attempts, 1)
			var res OrderResult
			require.NoError(t, json.Unmarshal(done.Result, &res))
			assert.Equal(t, roundCents(2*p.Price), res.Amount)
			assert.Equal(t, 2, c.count(`SELECT COUNT(*) FROM sales WHERE user_id = ?`, user), "the sale was recorded twice")
			after := c.stats(user, "weekly")
			assert.Equal(t, 2, after.Orders)
			assert.InDelta(t, 1+res.Amount, after.Total, 0.001)
		})
	}
}

// TestPeriodicJobs: with short intervals, the warm job and the purge run on
// their own.
func TestPeriodicJobs(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			c := startServiceWith(t, database, "simple://", withWorkers(2, func(cfg *Config) {
				cfg.WarmEvery, cfg.PurgeEvery, cfg.Retention = 100*time.Millisecond, 100*time.Millisecond, 200*24*time.Hour
			}))
			waitFor(t, func() string {
				if c.completed(warmArgs{}.Kind()) == 0 {
					return "a warm job"
				}
				return ""
			})
			// The first request of a warmed page is a hit.
			assert.Equal(t, "HIT", c.get("/products?page=2", http.StatusOK).header.Get("X-Cache"))

			// A sale older than the window is deleted by the next purge.
			_, err := c.svc.Store.exec(context.Background(), `INSERT INTO sales (user_id, amount, created_at) VALUES (?, ?, ?)`,
				6001, 1, time.Now().Add(-300*24*time.Hour).Unix())
			require.NoError(t, err)
			purged := c.completed(purgeArgs{}.Kind())
			waitFor(t, func() string {
				// Two more: the second began after the sale was inserted.
				if c.completed(purgeArgs{}.Kind()) < purged+2 {
					return "two more purge jobs"
				}
				return ""
			})
			assert.Zero(t, c.count(`SELECT COUNT(*) FROM sales WHERE user_id = 6001`))

			// The periodic jobs are not tasks of the API.
			var warmID int64
			require.NoError(t, c.svc.Store.queryOne(context.Background(), `SELECT MIN(id) FROM river_job WHERE kind = 'catalog.warm'`, nil, &warmID))
			c.get("/api/tasks/"+strconv.FormatInt(warmID, 10), http.StatusNotFound)
		})
	}
}

// startWorker starts a catalog worker process (this test binary, as main,
// with -worker) on the service's database and cacheURL, working one job at
// a time. It is interrupted and must exit cleanly when the test ends.
func startWorker(t *testing.T, cfg Config) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-worker", "-workers", "1", "-db", cfg.SQLitePath, "-warm-every", "0", "-purge-every", "0")
	cmd.Env = append(os.Environ(), testWorkerEnv+"=1", "DATABASE_URL="+cfg.DatabaseURL, "CACHE_URL="+cfg.CacheURL)
	// exec copies the output into out on a goroutine of its own, which
	// Wait ends before out is read.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		assert.NoError(t, err, "worker process output:\n%s", out.String())
	})
}

// TestWorkerProcesses: two -worker processes share the jobs of a web
// process that only enqueues them, and the cache: each job runs once, and
// what the workers invalidate is read fresh by the web process.
func TestWorkerProcesses(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			var cfg Config
			c := startServiceWith(t, database, "file://"+filepath.ToSlash(t.TempDir()), func(c *Config) { cfg = *c })
			startWorker(t, cfg)
			startWorker(t, cfg)
			ctx := context.Background()

			// Two barrier jobs end only when both have started: in two
			// processes, each working one job at a time.
			var barriers []int64
			for range 2 {
				res, err := c.svc.api.queue.client.Insert(ctx, barrierArgs{N: 2}, &river.InsertOpts{MaxAttempts: 1})
				require.NoError(t, err)
				barriers = append(barriers, res.Job.ID)
			}
			workedBy := map[string]bool{}
			for _, id := range barriers {
				var job *rivertype.JobRow
				waitFor(t, func() string {
					var err error
					job, err = c.svc.api.queue.client.JobGet(ctx, id)
					require.NoError(t, err)
					require.NotContains(t, []rivertype.JobState{rivertype.JobStateDiscarded, rivertype.JobStateCancelled}, job.State, "%+v", job.Errors)
					if job.State != rivertype.JobStateCompleted {
						return "barrier job " + strconv.FormatInt(id, 10) + " is " + string(job.State)
					}
					return ""
				})
				require.Len(t, job.AttemptedBy, 1)
				workedBy[job.AttemptedBy[0]] = true
			}
			require.Len(t, workedBy, 2, "both processes worked a barrier job")

			// Orders: each job runs once, in one of the two processes.
			const orders = 30
			users := []int64{21, 22, 23}
			before := map[int64]SalesStats{}
			for _, u := range users {
				before[u] = c.stats(u, "yearly") // memoized in the shared cache (they have sales)
			}
			sales := c.count(`SELECT COUNT(*) FROM sales`)
			var ids []string
			for i := range orders {
				ids = append(ids, c.enqueue("/api/orders", fmt.Sprintf(`{"user_id": %d, "product_id": %d, "quantity": 1}`, users[i%len(users)], 10+i)))
			}
			var total float64
			for _, id := range ids {
				done := c.waitTask(id, "succeeded")
				assert.Equal(t, 1, done.Attempts)
				jobID, err := strconv.ParseInt(id, 10, 64)
				require.NoError(t, err)
				job, err := c.svc.api.queue.client.JobGet(ctx, jobID)
				require.NoError(t, err)
				require.Len(t, job.AttemptedBy, 1)
				assert.True(t, workedBy[job.AttemptedBy[0]], "worked by %s, not a worker process", job.AttemptedBy[0])
				var res OrderResult
				require.NoError(t, json.Unmarshal(done.Result, &res))
				total += res.Amount
			}
			assert.Equal(t, sales+orders, c.count(`SELECT COUNT(*) FROM sales`), "a sale was recorded twice, or not at all")
			assert.Equal(t, orders, c.count(`SELECT COUNT(DISTINCT sale_id) FROM orders`))
			var after float64
			for _, u := range users {
				s := c.stats(u, "yearly")
				assert.Equal(t, before[u].Orders+orders/len(users), s.Orders, "user %d", u)
				after += s.Total - before[u].Total
			}
			assert.InDelta(t, total, after, 0.01)
		})
	}
}

// TestCheckLayout: jobs worked in other processes than the web's need a
// cache both share.
func TestCheckLayout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		worker bool
		err    string
	}{
		{"one process", Config{Workers: 10}, false, ""},
		{"one process on Redis", Config{Workers: 10, CacheURL: "redis://127.0.0.1:6379/0"}, false, ""},
		{"web only, in-process cache", Config{CacheURL: "simple://"}, false, "simple://"},
		{"web only, default cache", Config{}, false, "simple://"},
		{"web only, Redis", Config{CacheURL: "redis://127.0.0.1:6379/0"}, false, ""},
		{"worker, in-process cache", Config{Workers: 10, CacheURL: "simple://?max_entries=10"}, true, "simple://"},
		{"worker, memcached", Config{Workers: 10, CacheURL: "memcached://127.0.0.1:11211"}, true, ""},
		{"worker, files", Config{Workers: 1, CacheURL: "file:///tmp/catalog"}, true, ""},
		{"worker with no workers", Config{CacheURL: "file:///tmp/catalog"}, true, "-workers 0"},
		// A URL's scheme is case-insensitive, and cacheurl opens these
		// as simple:// (RFC 3986 section 3.1).
		{"web only, in-process cache in capitals", Config{CacheURL: "SIMPLE://"}, false, "simple://"},
		{"worker, in-process cache in mixed case", Config{Workers: 1, CacheURL: "Simple://?max_entries=10"}, true, "simple://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLayout(tc.cfg, tc.worker)
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
	// And work refuses them before opening anything.
	err := work(context.Background(), Config{Workers: 1, SQLitePath: filepath.Join(t.TempDir(), "catalog.db")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "simple://")
}

// TestNewServiceBadJobSettings: negative settings are errors, not defaults.
func TestNewServiceBadJobSettings(t *testing.T) {
	for _, cfg := range []Config{{Workers: -1}, {WarmEvery: -time.Second}, {PurgeEvery: time.Hour}} {
		cfg.SQLitePath = filepath.Join(t.TempDir(), "catalog.db")
		_, err := NewService(context.Background(), cfg)
		require.Error(t, err)
		_, statErr := os.Stat(cfg.SQLitePath)
		assert.True(t, errors.Is(statErr, os.ErrNotExist), "the database was opened")
	}
}

// testEnqueue, on a service that works no jobs: what POST /api/orders and
// /api/reports answer at once, what they refuse (enqueueing nothing), and
// what GET /api/tasks/{id} says of a task not yet worked or of no task.
func testEnqueue(t *testing.T, c *client) {
	jobs := func() int { return c.count(`SELECT COUNT(*) FROM river_job`) + c.count(`SELECT COUNT(*) FROM orders`) }
	before := jobs()
	for _, tc := range []struct{ name, path, body string }{
		{"unknown product", "/api/orders", `{"user_id": 7, "product_id": 999999, "quantity": 2}`},
		{"zero quantity", "/api/orders", `{"user_id": 7, "product_id": 3, "quantity": 0}`},
		{"negative quantity", "/api/orders", `{"user_id": 7, "product_id": 3, "quantity": -2}`},
		{"fractional quantity", "/api/orders", `{"user_id": 7, "product_id": 3, "quantity": 2.5}`},
		{"quantity over 1000", "/api/orders", `{"user_id": 7, "product_id": 3, "quantity": 1001}`},
		{"quantity as a string", "/api/orders", `{"user_id": 7, "product_id": 3, "quantity": "2"}`},
		{"no quantity", "/api/orders", `{"user_id": 7, "product_id": 3}`},
		{"no user", "/api/orders", `{"product_id": 3, "quantity": 1}`},
		{"zero user", "/api/orders", `{"user_id": 0, "product_id": 3, "quantity": 1}`},
		{"negative product", "/api/orders", `{"user_id": 7, "product_id": -3, "quantity": 1}`},
		{"unknown field", "/api/orders", `{"user_id": 7, "product_id": 3, "quantity": 1, "price": 0}`},
		{"malformed order", "/api/orders", `{"user_id": 7,`},
		{"month 13", "/api/reports", `{"user_id": 7, "month": "2026-13"}`},
		{"one-digit month", "/api/reports", `{"user_id": 7, "month": "2026-1"}`},
		{"a date", "/api/reports", `{"user_id": 7, "month": "2026-11-01"}`},
		{"before 1970", "/api/reports", `{"user_id": 7, "month": "1969-12"}`},
		{"no month", "/api/reports", `{"user_id": 7}`},
		{"negative user report", "/api/reports", `{"user_id": -7, "month": "2026-11"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post(tc.path, tc.body, http.StatusBadRequest)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			var e struct{ Error string }
			r.json(t, &e)
			assert.NotEmpty(t, e.Error)
		})
	}
	assert.Equal(t, before, jobs(), "a refused request enqueued a job or stored an order")

	// A valid order: 202 at once, and its task is pending.
	id := c.enqueue("/api/orders", `{"user_id": 7, "product_id": 3, "quantity": 1000}`)
	assert.Equal(t, task{TaskID: id, Kind: "order", Status: "pending", Result: json.RawMessage("null")}, c.task(id))
	assert.JSONEq(t, `{"task_id": "`+id+`", "kind": "order", "status": "pending", "result": null, "attempts": 0}`,
		string(c.get("/api/tasks/"+id, http.StatusOK).body))
	assert.Equal(t, before+2, jobs(), "the order and its job")

	// The same report asked for twice while it waits: one task. (A month
	// with no sales is answered at once: these have one.)
	for _, user := range []int{7, 8} {
		_, err := c.svc.Store.exec(context.Background(), `INSERT INTO sales (user_id, amount, created_at) VALUES (?, ?, ?)`,
			user, 10, time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC).Unix())
		require.NoError(t, err)
	}
	report := c.enqueue("/api/reports", `{"user_id": 7, "month": "2026-10"}`)
	assert.Equal(t, report, c.enqueue("/api/reports", `{"user_id": 7, "month": "2026-10"}`))
	assert.NotEqual(t, report, c.enqueue("/api/reports", `{"user_id": 8, "month": "2026-10"}`))

	for _, bad := range []string{"999999999", "0", "-1", "+" + id, "abc", id + "x", "99999999999999999999"} {
		r := c.do("GET", "/api/tasks/"+bad, "")
		assert.Equal(t, http.StatusNotFound, r.status, bad)
		assert.Equal(t, "application/json", r.header.Get("Content-Type"), bad)
	}
}

// TestWarmSmallCatalog: a page past the last is a 404, which is not stored;
// the warm job asks only for the pages a catalog has, so on one of a single
// page it still succeeds, storing the storefront and that page.
func TestWarmSmallCatalog(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.Seed = 10 })
	res, err := c.svc.api.warm(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2*len(warmEncodings), res.Stored)
	assert.Equal(t, "HIT", c.get("/products", http.StatusOK).header.Get("X-Cache"))
	c.get("/products?page=2", http.StatusNotFound)
}
