package caching_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/timing"
)

// The README's opening lines, whole: a cached route tagged "products", a
// memoized statistics query and its invalidation, behind compression and
// timing.
func Example() {
	ctx := context.Background()
	c := caching.Must(&caching.Options{DefaultTTL: 5 * time.Minute}) // in-process store by default
	defer c.Close()

	runs := 0
	listProducts := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"page":%q,"run":%d}`, r.URL.Query().Get("page"), runs)
	})
	queries := 0
	computeStats := func(_ context.Context, a StatsArgs) (int, error) {
		queries++
		return int(a.UserID) * 10, nil
	}

	mux := http.NewServeMux()
	mux.Handle("GET /products", c.Cached(5*time.Minute, caching.Tags("products"),
		caching.CacheStatusHeader("X-Cache"))(listProducts)) // query string in the key
	stats := caching.Memoize(c, "sales-stats", computeStats, caching.TTL(10*time.Minute))
	handler := timing.Must(timing.Options{})(compress.Middleware(compress.Options{})(mux))

	get := func(target string) {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Println(target, w.Header().Get("X-Cache"), w.Body.String())
	}
	get("/products?page=2")
	get("/products?page=2")
	get("/products?page=3")

	args := StatsArgs{UserID: 42, Period: "monthly"}
	for range 2 {
		s, err := stats.Get(ctx, args)
		fmt.Println("stats:", s, err)
	}
	fmt.Println("queries:", queries)

	_ = stats.Forget(ctx, args) // one entry
	_ = stats.ForgetAll(ctx)    // every entry of the function
	_ = c.InvalidateTags(ctx, "products")
	get("/products?page=2") // every page and query variant: run again
	s, _ := stats.Get(ctx, args)
	fmt.Println("stats:", s, "queries:", queries)
	// Output:
	// /products?page=2 MISS {"page":"2","run":1}
	// /products?page=2 HIT {"page":"2","run":1}
	// /products?page=3 MISS {"page":"3","run":2}
	// stats: 420 <nil>
	// stats: 420 <nil>
	// queries: 1
	// /products?page=2 MISS {"page":"2","run":3}
	// stats: 420 queries: 2
}
