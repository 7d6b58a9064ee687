package memcached_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
)

func Example() {
	store, err := memcached.New(memcached.Options{
		Servers:     []string{"127.0.0.1:11211", "127.0.0.1:11212"},
		Namespace:   "catalog",
		Timeout:     300 * time.Millisecond,
		MaxItemSize: 2 << 20, // the servers run with -I 2m
	})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	ctx := context.Background()
	if err := store.Set(ctx, "product/42", []byte(`{"name":"lamp"}`), 10*time.Minute); err != nil {
		fmt.Println("memcached unavailable:", err)
		return
	}
	v, err := store.Get(ctx, "product/42")
	switch {
	case errors.Is(err, backend.ErrNotFound):
		fmt.Println("miss")
	case err != nil:
		fmt.Println("error:", err)
	default:
		fmt.Println(string(v))
	}
	// Drop every entry of the "catalog" namespace, and nothing else.
	_ = store.Clear(ctx)
}
