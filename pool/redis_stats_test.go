package pool_test

import (
	"encoding/json"
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
//
// The client here never gives up on the node (which accepts connections
// and never answers), so a report that waited for it would come only from
// Snapshot's own bound, with the client reported as a source that did not
// answer: each report must show the client's statistics (the last read,
// zeros) instead. Nothing is timed but the 30 s bound on a report that
// would otherwise hang the test.
func TestStatsEndpointDoesNotHangOnDeadRedisCluster(t *testing.T) {
	t.Parallel()
	// A node that accepts connections and never answers.
	srv := testutil.StartProxy(t, "", testutil.ProxyOptions{})
	cfg := pool.Config{Size: 2}
	o := &redis.ClusterOptions{
		Addrs:       []string{srv.Addr()},
		ReadTimeout: -1, // no deadline: the state is never loaded
	}
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
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/admin/pool-stats", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(w, r)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("request %d: the stats endpoint has not answered in 30s with the cluster down", i)
		}
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i, w.Code)
		}
		var body map[string]map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("request %d: %v in %q", i, err, w.Body)
		}
		got := body["redis"]
		if e, ok := got["error"]; ok {
			t.Fatalf("request %d: the report waited for the client: %v", i, e)
		}
		if got["max_open"] != float64(cfg.MaxOpen()) {
			t.Fatalf("request %d: the report shows %v, want the client's statistics (max_open %d)", i, got, cfg.MaxOpen())
		}
	}
}
