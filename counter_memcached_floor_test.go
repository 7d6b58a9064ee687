package caching

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// On memcached counters are unsigned: a decrement stops at 0, and a
// negative integer is no counter, as Cache.Incr and Cache.Decr say.
func TestMemcachedCountersStopAtZero(t *testing.T) {
	ctx := context.Background()
	b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: fmt.Sprint("floor", time.Now().UnixNano()), Timeout: testutil.SlowTimeout})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Incr(ctx, "n", 3); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Decr(ctx, "n", 5); n != 0 || err != nil {
		t.Errorf("Decr(n, 5) of 3 = %d, %v; want 0, nil", n, err)
	}
	if n, err := c.Incr(ctx, "missing", -1); n != 0 || err != nil {
		t.Errorf("Incr(missing, -1) = %d, %v; want 0, nil", n, err)
	}
	if err := c.Set(ctx, "neg", []byte("-3"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Incr(ctx, "neg", 1); !errors.Is(err, backend.ErrNotInteger) {
		t.Errorf("Incr of a stored -3: %v; want ErrNotInteger", err)
	}
}
