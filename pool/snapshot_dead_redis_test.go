package pool_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// hungPooler is a Redis client whose statistics never come back while its
// cluster is down (a *redis.ClusterClient that has not loaded the
// cluster's state dials the seeds to read them).
type hungPooler struct{ release chan struct{} }

func (h hungPooler) PoolStats() *redis.PoolStats {
	<-h.release
	return &redis.PoolStats{}
}

// TestSnapshotWaitsForDeadRedisClientsTogether: each Redis source waits
// up to 100 ms for its client's statistics, and Snapshot called the
// sources one after the other, so that with a cluster down a scrape or a
// stats request took 100 ms per client: 150 clients (a client per tenant
// or per shard) took 15 s, past Prometheus's default scrape timeout of
// 10 s, and the scrape failed for every metric of the program. The
// sources are called together: the waits overlap. The test runs in a
// synctest bubble, whose clock moves only while every goroutine waits:
// the snapshot takes 100 ms of it on any machine, 15 s when the waits add
// up.
func TestSnapshotWaitsForDeadRedisClientsTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var reg pool.Registry
		const clients = 150
		for i := range clients {
			require.NoError(t, reg.RegisterRedis(fmt.Sprintf("tenant-%03d", i), hungPooler{release}, pool.Config{}))
		}
		start := time.Now()
		snap := reg.Snapshot()
		took := time.Since(start)
		require.Len(t, snap, clients)
		require.Less(t, took, 10*time.Second, "a snapshot of %d dead clients outlasted a default scrape timeout", clients)
	})
}
