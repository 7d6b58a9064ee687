// Command quickstart shows the core API of github.com/go-caching/caching in
// one screen: a Cache on the in-process store, a value computed once and
// then served from the cache, and invalidation by tag. It prints what
// happens and exits.
//
//	cd examples && go run ./quickstart
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/go-caching/caching"
)

// price is the "expensive" function being cached: it counts its calls.
var calls int

func price(ctx context.Context, sku string) (float64, error) {
	calls++
	return 9.99, nil
}

func main() {
	ctx := context.Background()
	// The zero Options use the in-process store (backend/simple).
	c := caching.Must(&caching.Options{DefaultTTL: 5 * time.Minute})
	defer c.Close()

	get := func(sku string) float64 {
		v, err := caching.GetOrSet(ctx, c, "price:"+sku, time.Minute,
			func(ctx context.Context) (float64, error) { return price(ctx, sku) },
			caching.Tags("prices"))
		if err != nil {
			panic(err)
		}
		return v
	}

	fmt.Printf("first read:  %.2f (calls: %d)\n", get("A1"), calls)
	fmt.Printf("second read: %.2f (calls: %d, served from the cache)\n", get("A1"), calls)

	// Prices changed: every entry tagged "prices" is stale at once.
	if err := c.InvalidateTags(ctx, "prices"); err != nil {
		panic(err)
	}
	fmt.Printf("after InvalidateTags: %.2f (calls: %d)\n", get("A1"), calls)

	fmt.Printf("cache hits: %d\n", c.Stats().Hits)
}
