package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
	"github.com/go-caching/caching/metrics"
)

// nearMetrics are the near cache's counters, which every round moves; its
// gauges (entries, bytes, watching) need only be present.
var nearMetrics = []string{"caching_near_hits_total", "caching_near_misses_total", "caching_near_invalidations_total"}

// TestCollectorNearCache: with a near cache in front of the real Redis, its
// figures are exported and move: hits, misses, and the invalidations that
// another process's writes send.
func TestCollectorNearCache(t *testing.T) {
	addr := testutil.RedisAddr(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("caching-test:metrics-near-%d:", time.Now().UnixNano())
	open := func() (*caching.Cache, *near.Store) {
		store, err := near.New(redisstore.Must(redisstore.Options{URL: "redis://" + addr + "/0", Prefix: prefix}), near.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := store.WaitWatching(wctx); err != nil {
			t.Fatal(err)
		}
		c := caching.Must(&caching.Options{Backend: store})
		t.Cleanup(func() { _ = c.Clear(ctx); _ = c.Close() })
		return c, store
	}
	c, store := open()
	other, _ := open()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(c, metrics.Options{}))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	round := func(i int) {
		key := fmt.Sprint("k", i)
		_ = other.Set(ctx, key, []byte("v"), time.Hour)
		for range 3 {
			_, _ = c.Get(ctx, key) // a miss in memory, then hits
		}
		before := store.NearStats().Invalidations
		_ = other.Set(ctx, key, []byte("w"), time.Hour) // news for c
		for end := time.Now().Add(10 * time.Second); store.NearStats().Invalidations == before && time.Now().Before(end); {
			time.Sleep(time.Millisecond) // another client's news can only be waited for
		}
		_, _ = c.Get(ctx, fmt.Sprint("k", i+100)) // a miss
	}
	round(1)
	first := scrape(t, srv.URL)
	round(2)
	second := scrape(t, srv.URL)
	for _, name := range nearMetrics {
		a, ok1 := first[name]
		b, ok2 := second[name]
		if !ok1 || !ok2 {
			t.Errorf("%s: missing from a scrape", name)
			continue
		}
		if total(a) == total(b) {
			t.Errorf("%s did not move: %v", name, total(a))
		}
	}
	for _, name := range []string{"caching_near_emptied_total", "caching_near_entries", "caching_near_bytes"} {
		if _, ok := second[name]; !ok {
			t.Errorf("%s: missing", name)
		}
	}
	if v := total(second["caching_near_watching"]); v != 1 {
		t.Errorf("caching_near_watching = %v, want 1", v)
	}
}
