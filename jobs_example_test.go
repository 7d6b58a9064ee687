package caching_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-caching/caching"
)

// A job precomputes a report with Refresh, so that the next request is a
// hit; Set stores a result computed elsewhere; Peek shows what is stored
// without computing anything.
func ExampleMemoized_Refresh() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()

	runs := 0
	report := caching.Memoize(c, "monthly-report", func(_ context.Context, month string) (string, error) {
		runs++
		return fmt.Sprintf("report %s (run %d)", month, runs), nil
	}, caching.TTL(time.Hour), caching.Tags("sales"))

	// In a periodic job: compute the reports users will ask for.
	if _, err := report.Refresh(ctx, "2026-11"); err != nil {
		fmt.Println(err)
	}
	// A report computed by another service.
	_ = report.Set(ctx, "2026-10", "report 2026-10 (imported)")

	// In a handler: served from the cache.
	r, _ := report.Get(ctx, "2026-11")
	fmt.Println(r)
	r, fresh, _ := report.Peek(ctx, "2026-10")
	fmt.Println(r, fresh)
	_, _, err := report.Peek(ctx, "2026-09")
	fmt.Println(err)
	fmt.Println("runs:", runs)
	// Output:
	// report 2026-11 (run 1)
	// report 2026-10 (imported) true
	// caching: memoize monthly-report: peek: backend: not found
	// runs: 1
}

// Peek reads the response a view stored for a request, without running the
// handler: give it the view's options, as to ViewKey.
func ExampleCache_Peek() {
	c := caching.Must(nil)
	defer c.Close()
	opts := []caching.ViewOption{caching.Tags("products")}
	products := c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"page":1}`)
	}))
	products.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/products?page=1", nil))

	resp, fresh, err := c.Peek(httptest.NewRequest(http.MethodGet, "/products?page=1", nil), opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, string(resp.Body), fresh)
	_, _, err = c.Peek(httptest.NewRequest(http.MethodGet, "/products?page=2", nil), opts...)
	fmt.Println(err)
	// Output:
	// 200 {"page":1} true
	// caching: peek: backend: not found
}
