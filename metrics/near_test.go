package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

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
		store, err := near.New(redisstore.Must(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix}), near.Options{})
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

// TestCollectorNearWatchRefused: a Redis whose ACL refuses the watch (a
// user without CLIENT TRACKING) leaves the near cache out of use for as
// long as the ACL stays, and no series said why: caching_near_watching 0
// reads the same during a Redis restart. caching_near_watch_refused is 1
// while the server refuses the watch, and 0 once it allows it; a Redis
// that cannot be reached is not a refusal.
func TestCollectorNearWatchRefused(t *testing.T) {
	addr := testutil.RedisAddr(t)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	id := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	user, prefix := "caching-test-metrics-refused-"+id, "caching-test-metrics-refused-"+id+":"
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "reset", "on", ">pw", "~"+prefix+"*", "&*",
		"+@read", "+@write", "+@keyspace", "+ping").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Do(context.Background(), "ACL", "DELUSER", user).Err() })

	serve := func(url, prefix string) (*near.Store, string) {
		store := near.Must(redisstore.Must(redisstore.Options{URL: url, Prefix: prefix}), near.Options{})
		c := caching.Must(&caching.Options{Backend: store})
		t.Cleanup(func() { _ = c.Close() })
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics.New(c, metrics.Options{}))
		srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		t.Cleanup(srv.Close)
		return store, srv.URL
	}
	waitErr := func(store *near.Store) {
		for end := time.Now().Add(5 * time.Second); store.NearStats().WatchError == nil; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatal("no WatchError after 5s")
			}
		}
	}
	gauges := func(url string) (watching, refused float64) {
		fams := scrape(t, url)
		w, ok1 := fams["caching_near_watching"]
		r, ok2 := fams["caching_near_watch_refused"]
		if !ok1 || !ok2 {
			t.Fatalf("caching_near_watching present %v, caching_near_watch_refused present %v; want both", ok1, ok2)
		}
		return total(w), total(r)
	}

	store, url := serve("redis://"+user+":pw@"+addr+"/0?"+testutil.SlowRedisQuery, prefix)
	waitErr(store)
	if w, r := gauges(url); w != 0 || r != 1 {
		t.Errorf("refused by the ACL (%v): watching %v, refused %v; want 0 and 1", store.NearStats().WatchError, w, r)
	}

	if err := admin.Do(ctx, "ACL", "SETUSER", user, "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 40*time.Second) // the refused watch tries again within 5s to 30s
	defer cancel()
	if err := store.WaitWatching(wctx); err != nil {
		t.Fatal(err)
	}
	if w, r := gauges(url); w != 1 || r != 0 {
		t.Errorf("allowed by the ACL: watching %v, refused %v; want 1 and 0", w, r)
	}

	down, downURL := serve("redis://127.0.0.1:1/0?dial_timeout=100ms", "caching-test-metrics-down:")
	waitErr(down)
	if w, r := gauges(downURL); w != 0 || r != 0 {
		t.Errorf("unreachable (%v): watching %v, refused %v; want 0 and 0", down.NearStats().WatchError, w, r)
	}
}
