package near_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/backend/simple"
)

// A near cache in front of Redis: hits are served from process memory, and
// every process's writes and invalidations drop what they change from the
// memory of every other process.
func Example() {
	remote := redisstore.Must(redisstore.Options{URL: "redis://localhost:6379/0", Prefix: "shop:"})
	store, err := near.New(remote, near.Options{MaxEntries: 50_000, MaxBytes: 256 << 20})
	if err != nil {
		log.Fatal(err) // a kind of Redis client that cannot be watched
	}
	c := caching.Must(&caching.Options{Backend: store})
	defer c.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /products", c.Cached(time.Minute, caching.Tags("products"))(http.HandlerFunc(listProducts)))
	// In any process: every process drops its copies within milliseconds.
	_ = c.InvalidateTags(context.Background(), "products")
}

func listProducts(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, `["tea"]`) }

// memcached sends no news of other processes' writes: a near cache in front
// of it serves a value for at most MaxStale after it was read.
func ExampleNew_memcached() {
	remote := memcached.Must(memcached.Options{Servers: []string{"localhost:11211"}})
	c := caching.Must(&caching.Options{Backend: near.Must(remote, near.Options{MaxStale: 200 * time.Millisecond})})
	defer c.Close()
}

// What the near cache counts, here in front of an in-process store (as a
// remote store that sends no news).
func ExampleStore_NearStats() {
	store := near.Must(simple.Must(simple.Options{}), near.Options{})
	c := caching.Must(&caching.Options{Backend: store})
	defer c.Close()
	ctx := context.Background()
	_ = c.Set(ctx, "greeting", []byte("hello"), time.Minute)
	for range 3 {
		_, _ = c.Get(ctx, "greeting") // a remote read, kept; then two near hits
	}
	st := store.NearStats()
	fmt.Println("watching:", st.Watching, "kept:", st.Kept, "hits:", st.Hits)
	// Output: watching: true kept: 1 hits: 2
}
