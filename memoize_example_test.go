package caching_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-caching/caching"
)

// Product is a row of the example catalog.
type Product struct {
	ID    int
	Name  string
	Price float64
}

// queries stands for a database: it counts the queries it answers.
var queries int

func queryProduct(_ context.Context, id int) (Product, error) {
	queries++
	return Product{ID: id, Name: fmt.Sprint("product ", id), Price: 9.5}, nil
}

// Memoizing a database query: the first Get runs it, the next ones are
// served from the cache until the TTL runs out.
func ExampleMemoize() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()
	queries = 0

	product := caching.Memoize(c, "product-by-id", queryProduct, caching.TTL(10*time.Minute))
	for range 3 {
		p, err := product.Get(ctx, 7)
		if err != nil {
			panic(err)
		}
		fmt.Println(p.Name)
	}
	fmt.Println("queries:", queries)
	// Output:
	// product 7
	// product 7
	// product 7
	// queries: 1
}

// StatsArgs holds the arguments of a memoized function of several arguments:
// a struct of exported fields, whose key is built from every field.
type StatsArgs struct {
	UserID int64
	Period string
}

// Invalidating one user's statistics after a new order, while the other
// users' stay cached.
func ExampleMemoized_Forget() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()

	computed := 0
	stats := caching.Memoize(c, "sales-stats", func(_ context.Context, a StatsArgs) (int, error) {
		computed++
		return int(a.UserID) * 100, nil
	})
	ann := StatsArgs{UserID: 1, Period: "monthly"}
	bob := StatsArgs{UserID: 2, Period: "monthly"}
	_, _ = stats.Get(ctx, ann)
	_, _ = stats.Get(ctx, bob)

	// Ann placed an order: her statistics must be computed again.
	if err := stats.Forget(ctx, ann); err != nil {
		panic(err)
	}
	_, _ = stats.Get(ctx, ann)
	_, _ = stats.Get(ctx, bob)
	fmt.Println("computed:", computed)
	// Output:
	// computed: 3
}

// Forgetting every entry of a function at once (after a deployment that
// changes prices, say): one write, seen by every process sharing the
// backend, whatever the number of entries.
func ExampleMemoized_ForgetAll() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()
	queries = 0

	product := caching.Memoize(c, "product-by-id", queryProduct)
	for id := range 3 {
		_, _ = product.Get(ctx, id)
	}
	if err := product.ForgetAll(ctx); err != nil {
		panic(err)
	}
	for id := range 3 {
		_, _ = product.Get(ctx, id)
	}
	fmt.Println("queries:", queries)
	// Output:
	// queries: 6
}

// Tags group the entries of several functions (and views): InvalidateTags
// forgets all of them.
func ExampleTags_memoize() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()
	queries = 0

	product := caching.Memoize(c, "product-by-id", queryProduct, caching.Tags("catalog"))
	_, _ = product.Get(ctx, 1)
	_ = c.InvalidateTags(ctx, "catalog")
	_, _ = product.Get(ctx, 1)
	fmt.Println("queries:", queries)
	// Output:
	// queries: 2
}

// Caching an access token for as long as it is valid, and never caching a
// token that is about to expire.
func ExampleResultTTL() {
	type Token struct {
		Value   string
		Expires time.Time
	}
	c := caching.Must(nil)
	defer c.Close()
	token := caching.MemoizeValue(c, "api-token", func(context.Context) (Token, error) {
		return Token{Value: "secret", Expires: time.Now().Add(time.Hour)}, nil
	}, caching.ResultTTL(func(t Token) time.Duration {
		return time.Until(t.Expires) - time.Minute // negative: not stored
	}))
	t, err := token.Get(context.Background())
	fmt.Println(t.Value, err)
	// Output:
	// secret <nil>
}

// Tagging results by their argument: one InvalidateTags forgets one
// product's results of every function, in every process, including a
// result another process is computing at that moment (which Forget would
// not reach).
func ExampleArgTags() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()
	queries = 0

	byProduct := caching.ArgTags(func(id int) []string { return []string{fmt.Sprint("product:", id)} })
	product := caching.Memoize(c, "product-by-id", queryProduct, byProduct)
	price := caching.Memoize(c, "price-by-id", func(ctx context.Context, id int) (float64, error) {
		p, err := queryProduct(ctx, id)
		return p.Price, err
	}, byProduct)
	for _, id := range []int{1, 2} {
		_, _ = product.Get(ctx, id)
		_, _ = price.Get(ctx, id)
	}
	_ = c.InvalidateTags(ctx, "product:1") // product 1 changed
	for _, id := range []int{1, 2} {
		_, _ = product.Get(ctx, id)
		_, _ = price.Get(ctx, id)
	}
	fmt.Println("queries:", queries)
	// Output:
	// queries: 6
}

// Memoizing a value of no argument, an exchange rate read from a service:
// every Get within the TTL is served from the cache, and Forget makes the
// next one read it again, in every process sharing the backend.
func ExampleMemoizeValue() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()

	reads := 0
	rate := caching.MemoizeValue(c, "eur-usd", func(context.Context) (float64, error) {
		reads++
		return 1.08, nil
	}, caching.TTL(time.Hour))
	for range 3 {
		r, err := rate.Get(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Println(r)
	}
	if err := rate.Forget(ctx); err != nil { // the rate changed
		panic(err)
	}
	_, _ = rate.Get(ctx)
	fmt.Println("reads:", reads)
	// Output:
	// 1.08
	// 1.08
	// 1.08
	// reads: 2
}
