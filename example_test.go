package caching_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/simple"
)

func ExampleNew() {
	// An in-process store bounded to 10,000 entries and 32 MiB, entries
	// fresh for 5 minutes unless a call says otherwise.
	store, err := simple.New(simple.Options{MaxEntries: 10_000, MaxBytes: 32 << 20})
	if err != nil {
		panic(err)
	}
	c, err := caching.New(&caching.Options{Backend: store, DefaultTTL: 5 * time.Minute, KeyPrefix: "shop:"})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()
	_ = c.Set(ctx, "greeting", []byte("hello"), 0) // 0: the DefaultTTL
	v, _ := c.Get(ctx, "greeting")                 // read as "shop:" and the key, in store
	fmt.Println(string(v), c.Stats().Hits)
	// Output: hello 1
}

func ExampleCache_Get() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()

	if err := c.Set(ctx, "greeting", []byte("hello"), time.Minute); err != nil {
		panic(err)
	}
	v, err := c.Get(ctx, "greeting")
	fmt.Println(string(v), err)

	_, err = c.Get(ctx, "absent")
	fmt.Println(errors.Is(err, caching.ErrNotFound))
	// Output:
	// hello <nil>
	// true
}

func ExampleGetOrSet() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()

	type Stats struct{ Orders int }
	load := func(ctx context.Context) (Stats, error) {
		fmt.Println("computing")
		return Stats{Orders: 7}, nil
	}
	for range 2 {
		s, err := caching.GetOrSet(ctx, c, "stats:42", 10*time.Minute, load)
		fmt.Println(s.Orders, err)
	}
	// Output:
	// computing
	// 7 <nil>
	// 7 <nil>
}

func ExampleCache_InvalidateTags() {
	ctx := context.Background()
	c := caching.Must(nil)
	defer c.Close()

	_ = c.Set(ctx, "products:page:1", []byte("[...]"), time.Minute, caching.Tags("products"))
	_ = c.Set(ctx, "products:page:2", []byte("[...]"), time.Minute, caching.Tags("products"))
	_ = c.Set(ctx, "users:1", []byte("{...}"), time.Minute, caching.Tags("users"))

	// A product changed: every page goes, in O(1), in every process.
	_ = c.InvalidateTags(ctx, "products")

	for _, k := range []string{"products:page:1", "products:page:2", "users:1"} {
		ok, _ := c.Has(ctx, k)
		fmt.Println(k, ok)
	}
	// Output:
	// products:page:1 false
	// products:page:2 false
	// users:1 true
}

func ExampleForever() {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now } // a clock the example moves
	store, err := simple.New(simple.Options{Clock: clock})
	if err != nil {
		panic(err)
	}
	c, err := caching.New(&caching.Options{Backend: store, DefaultTTL: time.Minute})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_ = c.Set(ctx, "config", []byte("v1"), caching.Forever) // never expires
	_ = c.Set(ctx, "session", []byte("v1"), 0)              // DefaultTTL: one minute
	err = c.Set(ctx, "bad", []byte("v1"), -time.Second)
	fmt.Println(err)

	now = now.Add(time.Hour)
	for _, k := range []string{"config", "session"} {
		ok, _ := c.Has(ctx, k)
		fmt.Println(k, ok)
	}
	// Output:
	// caching: ttl -1s: backend: negative ttl
	// config true
	// session false
}
