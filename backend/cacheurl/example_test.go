package cacheurl_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/cacheurl"
)

// A service reads its cache from one setting: CACHE_URL=redis://... in
// production, simple:// on a laptop. Here an in-process store of at most
// 10,000 entries, entries of five minutes by default (Flask-Caching's
// CACHE_DEFAULT_TIMEOUT=300) and keys under "shop:".
func ExampleOptions() {
	cacheURL := "simple://?max_entries=10000&default_timeout=300&key_prefix=shop:" // os.Getenv("CACHE_URL")
	opts, err := cacheurl.Options(cacheURL)
	if err != nil {
		fmt.Println(err)
		return
	}
	// opts.Logger = logger
	c, err := caching.New(opts)
	if err != nil {
		opts.Backend.Close()
		fmt.Println(err)
		return
	}
	defer c.Close()

	ctx := context.Background()
	_ = c.Set(ctx, "greeting", []byte("hello"), 0)
	v, _ := c.Get(ctx, "greeting")
	fmt.Println(string(v), opts.DefaultTTL, opts.KeyPrefix)
	// Output: hello 5m0s shop:
}

// A bad URL names the part that is wrong; every error wraps ErrInvalidURL.
func ExampleOpen() {
	_, err := cacheurl.Open("memcached://cache1:11211,cache2:11211?max_entries=1000")
	fmt.Println(err)
	fmt.Println(errors.Is(err, cacheurl.ErrInvalidURL))

	var e *cacheurl.Error
	_, err = cacheurl.Open("redis://cache1:6379/zero")
	if errors.As(err, &e) {
		fmt.Println(e.Part)
	}
	// Output:
	// cacheurl: parameter max_entries: is unknown for memcached://; want one of flush_on_clear, generation_grace, generation_ttl, max_idle_conns, max_item_size, namespace, near, near_max_bytes, near_max_entries, near_max_stale, timeout
	// true
	// path
}

func ExampleRedact() {
	fmt.Println(cacheurl.Redact("redis://app:s3cret@cache1:6379/0?prefix=shop:"))
	// Output: redis://app:xxxxx@cache1:6379/0?prefix=shop:
}
