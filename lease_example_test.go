package caching_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-caching/caching"
)

// A view with a lease: on a backend shared by several instances (Redis,
// memcached), concurrent misses of one key in all of them run the handler
// once. The requests here come one after another: the first misses and
// takes the lease, the next two are hits. ViewStats counts them under the
// view's Name.
func ExampleLease() {
	c := caching.Must(&caching.Options{Lease: 5 * time.Second}) // a Redis store in production
	defer c.Close()
	h := c.Cached(time.Minute, caching.Name("products"), caching.Lease(2*time.Second))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "[]") }))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/products", nil))
	}
	s := c.Stats()
	fmt.Println(c.ViewStats()["products"].Hits, c.ViewStats()["products"].Misses, s.Leases)
	// Output: 2 1 1
}
