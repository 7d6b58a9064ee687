package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReportRequestsCacheDownShareOneJob: while the cache was down, every
// POST /api/reports of a month with sales inserted a new River job (its
// row kept 24 hours) and ran the month's aggregate again, as soon as the
// job before it had finished: only the copy kept in the cache (Peek)
// answered finished reports, and River's uniqueness covered unfinished jobs
// only. A client repeating one request grew river_job by one row a request.
// A completed job of the same arguments (user, month and the mark of the
// sales) now answers with its result, 200; a sale since is another mark,
// and another job.
func TestReportRequestsCacheDownShareOneJob(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			redis := miniredis.RunT(t)
			c := startServiceWith(t, database, "redis://"+redis.Addr()+"/0", withWorkers(2, nil))
			c.post("/api/sales", `{"user_id": 4545, "amount": 3}`, http.StatusCreated)
			var sale Sale
			c.post("/api/sales", `{"user_id": 4545, "amount": 4}`, http.StatusCreated).json(t, &sale)
			month := sale.CreatedAt.UTC().Format(monthLayout)
			body := `{"user_id": 4545, "month": "` + month + `"}`

			redis.SetError("ERR simulated outage")
			report := func() (int, SalesReport) {
				t.Helper()
				var got SalesReport
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
				return r.status, got
			}
			const requests = 10
			for i := range requests {
				status, got := report()
				if i > 0 {
					assert.Equal(t, http.StatusOK, status, "request %d: the report of a completed job of the same sales", i+1)
				}
				assert.Equal(t, 2, got.Orders, "request %d", i+1)
				assert.Equal(t, 7.0, got.Total, "request %d", i+1)
			}
			jobs := c.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'catalog.report'`)
			assert.Equal(t, 1, jobs, "%d identical report requests (same user, month and sales) while the cache was down stored %d report jobs", requests, jobs)

			// A sale since: another mark, another job, which counts it.
			c.post("/api/sales", `{"user_id": 4545, "amount": 5}`, http.StatusCreated)
			status, got := report()
			assert.Equal(t, http.StatusAccepted, status)
			assert.Equal(t, 3, got.Orders)
			assert.Equal(t, 2, c.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'catalog.report'`))
		})
	}
}
