package null_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/null"
)

// Switching caching off by configuration: a Cache in front of a null store
// calls the memoized function on every Get, and the store itself keeps
// nothing it is given.
func Example() {
	ctx := context.Background()
	c := caching.Must(&caching.Options{Backend: null.New()})
	defer c.Close()

	calls := 0
	rate := caching.MemoizeValue(c, "eur-usd", func(context.Context) (float64, error) {
		calls++
		return 1.08, nil
	})
	for range 3 {
		if _, err := rate.Get(ctx); err != nil {
			panic(err)
		}
	}
	fmt.Println("calls:", calls)

	s := null.New()
	_ = s.Set(ctx, "greeting", []byte("hello"), time.Minute)
	_, err := s.Get(ctx, "greeting")
	fmt.Println(errors.Is(err, backend.ErrNotFound))
	added, _ := s.Add(ctx, "greeting", []byte("hello"), 0)
	fmt.Println(added) // the key is always absent
	n, _ := s.Incr(ctx, "visits", 5)
	fmt.Println(n) // delta: there is never a stored value to add it to
	// Output:
	// calls: 3
	// true
	// true
	// 5
}
