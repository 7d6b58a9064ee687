package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestDeadWorkerOrderRescued: a worker process killed (SIGKILL, OOM, a
// deploy without a graceful stop) while it worked an order leaves the job
// "running". River gives it to another worker only once it has been
// running for RescueStuckJobsAfter, which the catalog left at River's
// default, one hour: the order's sale, its invalidation and its task stayed
// "running" for an hour. It is rescueStuckAfter (5 minutes) now. Here the
// job was taken by a worker that died 10 minutes ago; a live worker, whose
// River rescuer runs at start and every 30 s, picks it up within the
// minute.
func TestDeadWorkerOrderRescued(t *testing.T) {
	var dbURL string
	// One cache for both processes, as the layout needs; DB 11 is this
	// test's.
	cacheURL := "redis://" + testutil.RedisAddr(t) + "/11?prefix=" + uniqueName("catalog-dead-worker:")
	web := startServiceWith(t, "postgres", cacheURL, func(cfg *Config) {
		cfg.Workers, cfg.WarmEvery, cfg.PurgeEvery = 0, 0, 0
		dbURL = cfg.DatabaseURL
	})
	id := web.enqueue("/api/orders", `{"user_id": 4343, "product_id": 3, "quantity": 2}`)
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	jobID, _ := strconv.ParseInt(id, 10, 64)
	// As a worker that fetched it 10 minutes ago and was then killed.
	_, err = conn.Exec(context.Background(), `UPDATE river_job SET state = 'running', attempt = 1,
		attempted_at = now() - interval '10 minutes', attempted_by = ARRAY['dead-worker'] WHERE id = $1`, jobID)
	require.NoError(t, err)

	worker := startServiceWith(t, "postgres", cacheURL, withWorkers(2, func(cfg *Config) {
		cfg.DatabaseURL, cfg.WarmEvery, cfg.PurgeEvery = dbURL, 0, 0
	}))
	deadline := time.Now().Add(75 * time.Second)
	for {
		st := worker.task(id).Status
		if st == "succeeded" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the order of a dead worker is still %q after 75 s (River rescues it after %v)", st, rescueStuckAfter)
		}
		time.Sleep(time.Second)
	}
}
