package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdMarkDB holds the first read of a month's sale mark, once armed, until
// release is closed: the version before this test's fix read it again
// after storing a report, which it then deleted if a sale came meanwhile.
type holdMarkDB struct {
	sqlDB
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func (d *holdMarkDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if strings.Contains(q, "COALESCE(MAX(id), 0) FROM sales") && d.armed.CompareAndSwap(true, false) {
		close(d.held)
		select {
		case <-d.release:
		case <-ctx.Done():
		}
	}
	return d.sqlDB.QueryContext(ctx, q, args...)
}

// TestReportMadeBeforeSaleNotServedAfterIt: a report job reads the month's
// sales; a sale is recorded (201) before the job stores its report; a
// client then asks for the report. The job stored the report first and
// only then read the sales again to delete it: a request in between was
// answered 200 from the kept report, without the sale the client was told
// was recorded. The report is now stored under the versions of its tags
// read before the sales were, and the sale invalidates the month's tag: it
// is a miss, however late it is stored, and the request gets a job that
// counts the sale.
func TestReportMadeBeforeSaleNotServedAfterIt(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			const user = 5202
			read := make(chan struct{})
			goOn := make(chan struct{})
			var reads atomic.Int32
			c := startServiceWith(t, database, "simple://", withWorkers(2, func(cfg *Config) {
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
			db := &holdMarkDB{sqlDB: c.svc.Store.db, held: make(chan struct{}), release: make(chan struct{})}
			c.svc.Store.db = db
			released := false
			release := func() {
				if !released {
					released = true
					close(db.release)
				}
			}
			defer release()

			c.post("/api/sales", `{"user_id": 5202, "amount": 10}`, http.StatusCreated)
			body := `{"user_id": 5202, "month": "2026-11"}`
			first := c.enqueue("/api/reports", body)
			select {
			case <-read:
			case <-time.After(testDeadline):
				t.Fatal("the report job did not read the sales")
			}
			// A sale after the job's read: answered 201.
			c.post("/api/sales", `{"user_id": 5202, "amount": 5}`, http.StatusCreated)
			db.armed.Store(true)
			close(goOn) // the job stores its report
			// Until the job is done, or holds in a read of the mark after
			// storing its report (the version before the fix).
			waitFor(t, func() string {
				select {
				case <-db.held:
					return ""
				default:
				}
				if c.task(first).Status != "succeeded" {
					return "the first report job to end, or to read the mark again"
				}
				db.armed.Store(false)
				return ""
			})

			// A client asks for the report after the sale.
			var got SalesReport
			r := c.do("POST", "/api/reports", body)
			switch r.status {
			case http.StatusOK:
				r.json(t, &got)
			case http.StatusAccepted:
				var out map[string]string
				r.json(t, &out)
				release()
				require.NoError(t, json.Unmarshal(c.waitTask(out["task_id"], "succeeded").Result, &got))
			default:
				t.Fatalf("POST /api/reports: %d %s", r.status, r.body)
			}
			assert.Equal(t, 2, got.Orders, "a report asked for after a sale (answered %d; the first task %s) misses it: %+v", r.status, first, got)
			assert.Equal(t, 15.0, got.Total)
		})
	}
}
