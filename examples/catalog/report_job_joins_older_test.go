package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression (a review of 368012d and 0d273df, fixed in the library by
// 144908c: Refresh joins no computation begun before it): while the cache
// is down, a report job J1 reads the month's sales. Another
// web process records a sale of that month (201; its invalidation fails:
// the cache is down, and this process does not count it). A client then asks
// for the report: the new mark makes a new job J2, which a second worker
// of the same process runs while J1 is still running. J2's Refresh joined
// J1's computation in flight (memoize's flight, keyed by the user and
// month only): J1 read no tag versions (the cache was down) and this
// process made no invalidation, so nothing tells J2 the result predates
// the sale. J2 completed with the report without the sale, under the mark
// that includes it: from then on, for River's 24 hours (until the next
// sale), every POST /api/reports is answered 200 with that report, also
// once the cache is back (createReport's completed-job answer).
func TestReportJobDoesNotJoinAnOlderRun(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			const user = 7303
			read := make(chan struct{})
			goOn := make(chan struct{})
			var reads atomic.Int32
			redis := miniredis.RunT(t)
			c := startServiceWith(t, database, "redis://"+redis.Addr()+"/0", withWorkers(2, func(cfg *Config) {
				cfg.now = func() time.Time { return testNow }
				cfg.reportRead = func(ctx context.Context, args reportArgs) {
					if args.UserID != user || reads.Add(1) != 1 {
						return
					}
					close(read)
					select {
					case <-goOn:
					case <-ctx.Done():
					}
				}
			}))
			defer func() {
				select {
				case <-goOn:
				default:
					close(goOn)
				}
			}()
			c.post("/api/sales", `{"user_id": 7303, "amount": 10}`, http.StatusCreated)
			body := `{"user_id": 7303, "month": "2026-11"}`

			redis.SetError("ERR simulated outage")
			first := c.enqueue("/api/reports", body)
			select {
			case <-read:
			case <-time.After(testDeadline):
				t.Fatal("the report job did not read the sales")
			}
			// Another web process records a sale (its own INSERT; its
			// invalidation fails, the cache being down).
			_, err := c.svc.Store.exec(context.Background(), `INSERT INTO sales (user_id, amount, created_at) VALUES (?, ?, ?)`,
				user, 5.0, testNow.Unix())
			require.NoError(t, err)

			second := c.enqueue("/api/reports", body) // a new mark: a new job
			require.NotEqual(t, first, second)
			// Running, or done already: a second job that does not join the
			// first (held) may succeed between two polls, and one that
			// waited for "running" alone then waited for ever.
			waitFor(t, func() string {
				if s := c.task(second).Status; s != "running" && s != "succeeded" {
					return "the second report job to run"
				}
				return ""
			})
			time.Sleep(200 * time.Millisecond) // its Refresh joins the first's
			close(goOn)

			var got SalesReport
			require.NoError(t, json.Unmarshal(c.waitTask(second, "succeeded").Result, &got))
			assert.Equal(t, 2, got.Orders, "the job asked for after the sale made the report without it: %+v", got)

			redis.SetError("") // the cache is back
			r := c.do("POST", "/api/reports", body)
			if r.status == http.StatusOK {
				got = SalesReport{}
				r.json(t, &got)
				assert.Equal(t, 2, got.Orders, "answered 200 after the outage with a report missing a sale recorded before the request: %+v", got)
			}
		})
	}
}
