package caching_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-caching/caching"
)

// Warm fills the cache after a deploy or a Clear: each target runs through
// the service's handler as a client's request would, and the next clients
// get hits. A target names the scheme and host the clients use, and the
// headers of the variant to store.
func ExampleCache_Warm() {
	c := caching.Must(nil)
	defer c.Close()

	calls := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		calls++
		fmt.Fprintf(w, "page %s (call %d)", r.URL.Query().Get("page"), calls)
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private")
		fmt.Fprint(w, "your cart")
	})
	handler := c.CachedMux(mux, 10*time.Minute, caching.CacheStatusHeader("X-Cache"))

	report := c.Warm(context.Background(), handler,
		caching.WarmTarget{URL: "http://shop.example/products?page=1"},
		caching.WarmTarget{URL: "http://shop.example/products?page=2"},
		caching.WarmTarget{URL: "http://shop.example/cart"},
		caching.WarmTarget{URL: "http://shop.example/nowhere"},
	)
	fmt.Printf("stored %d, refused %d, failed %d\n", report.Stored, report.Refused, report.Failed)
	for _, res := range report.Results[2:] {
		fmt.Printf("%s: reason %q, error %v\n", res.URL, res.Reason, res.Err)
	}

	visit(handler, "http://shop.example/products?page=2")
	// Output:
	// stored 2, refused 1, failed 1
	// http://shop.example/cart: reason "private", error <nil>
	// http://shop.example/nowhere: reason "", error caching: warm: the request reached no cached view of this Cache
	// http://shop.example/products?page=2 HIT: page 2 (call 2)
}
