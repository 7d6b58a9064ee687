// Command quickstart shows the core API of github.com/go-caching/caching in
// one screen: a cached HTTP route, a memoized function, and invalidation of
// both by tag, on the in-process store. It prints what happens and exits.
//
//	go -C examples run ./quickstart    # from the repository root
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-caching/caching"
)

func main() {
	ctx := context.Background()
	// nil Options: the in-process store (backend/simple), a 5-minute default TTL.
	c := caching.Must(nil)
	defer c.Close()

	// A memoized function: one entry per argument, tagged "prices".
	calls := 0
	price := caching.Memoize(c, "price", func(ctx context.Context, sku string) (float64, error) {
		calls++ // an expensive query in real life
		return 9.99, nil
	}, caching.TTL(time.Minute), caching.Tags("prices"))

	// A cached route: its responses are stored for a minute, tagged "prices".
	mux := http.NewServeMux()
	runs := 0
	mux.Handle("GET /price/{sku}", c.Cached(time.Minute, caching.Tags("prices"), caching.CacheStatusHeader("X-Cache"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs++
			p, err := price.Get(r.Context(), r.PathValue("sku"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "%.2f", p)
		})))
	requests, viewHits := 0, 0
	get := func() {
		requests++
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/price/A1", nil))
		if rec.Header().Get("X-Cache") == "HIT" {
			viewHits++
		}
		fmt.Printf("GET /price/A1 -> %s, X-Cache: %s, function calls: %d\n", rec.Body, rec.Header().Get("X-Cache"), calls)
	}

	get() // MISS: the handler runs, and so does the function
	get() // HIT: neither runs

	// Prices changed: every response and result tagged "prices" is stale
	// at once, in every process sharing the store.
	if err := c.InvalidateTags(ctx, "prices"); err != nil {
		panic(err)
	}
	get() // MISS again: both run

	// Stats has one count for the whole Cache: it adds up the lookups of
	// every view and every memoized function. Here, each request's view
	// lookup and each memoize lookup the handler made when it ran: 4 misses
	// for 3 requests. The split below is counted by this program itself.
	s := c.Stats()
	fmt.Printf("cache hits: %d, misses: %d (views and Memoize counted together)\n", s.Hits, s.Misses)
	fmt.Printf("  views:   %d lookups (one per request), hits: %d, misses: %d\n", requests, viewHits, requests-viewHits)
	fmt.Printf("  Memoize: %d lookups (one per handler run), hits: %d, misses: %d\n", runs, runs-calls, calls)
}
