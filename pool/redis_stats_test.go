package pool_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/go-caching/caching/pool"
)

// TestStatsEndpointDoesNotHangOnDeadRedisCluster: a *redis.ClusterClient
// that has not yet loaded the cluster's state (the program started while
// the cluster was down) dials the cluster in PoolStats, with its own
// timeouts and retries. The stats endpoint, and every Prometheus scrape
// reading the Registry, waited for it: seconds per request.
func TestStatsEndpointDoesNotHangOnDeadRedisCluster(t *testing.T) {
	t.Parallel()
	// A node that accepts connections and never answers.
	srv := testutil.StartProxy(t, "", testutil.ProxyOptions{})
	cfg := pool.Config{Size: 2}
	o := &redis.ClusterOptions{Addrs: []string{srv.Addr()}}
	if err := pool.ApplyRedisCluster(o, cfg); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClusterClient(o)
	defer rdb.Close()

	var reg pool.Registry
	if err := reg.RegisterRedis("redis", rdb, cfg); err != nil {
		t.Fatal(err)
	}
	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: pool.LoopbackOnly})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		start := time.Now()
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/admin/pool-stats", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		h.ServeHTTP(w, r)
		if took := time.Since(start); took > time.Second {
			t.Fatalf("request %d: the stats endpoint took %v with the cluster down, want under 1s", i, took)
		}
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i, w.Code)
		}
	}
}
