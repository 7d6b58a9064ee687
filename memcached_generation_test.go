package caching

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// mcGenerationCaches returns three Caches on one memcached namespace, as
// three processes would have. a trusts the generation it read for an hour,
// so that it stays on the generation of before b's Clear for the whole test
// (the default, 1s, leaves the same window, only shorter); fresh reads the
// generation on every call, as any process does once its GenerationTTL has
// run out.
func mcGenerationCaches(t *testing.T) (a, b, fresh *Cache) {
	t.Helper()
	ns := fmt.Sprint("mcgen-", time.Now().UnixNano())
	addrs := testutil.MemcachedAddrs(t)
	mk := func(ttl time.Duration) *Cache {
		be, err := memcached.New(memcached.Options{Servers: addrs, Namespace: ns, GenerationTTL: ttl, Timeout: testutil.SlowTimeout})
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(&Options{Backend: be, Timeout: testutil.SlowTimeout})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	return mk(time.Hour), mk(0), mk(-1)
}

// An invalidation or a delete made by a process that has not seen another
// process's Clear yet must not be lost: the entries written since the Clear
// would stay valid until their TTL, in every process.
func TestMemcachedInvalidateAfterOtherProcessClear(t *testing.T) {
	ctx := context.Background()
	a, b, fresh := mcGenerationCaches(t)
	if _, err := a.Get(ctx, "warm"); err == nil { // a reads generation G
		t.Fatal("warm: unexpected hit")
	}
	if err := b.Clear(ctx); err != nil { // G+1
		t.Fatal(err)
	}
	if err := b.Set(ctx, "price", []byte("old"), time.Hour, Tags("product")); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctx, "plain", []byte("old"), Forever); err != nil {
		t.Fatal(err)
	}
	m := Memoize(b, "price-of", func(_ context.Context, id int) (string, error) { return "old", nil }, TTL(time.Hour))
	if _, err := m.Get(ctx, 1); err != nil {
		t.Fatal(err)
	}

	if err := a.InvalidateTags(ctx, "product"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "plain"); err != nil {
		t.Fatal(err)
	}
	if err := Memoize(a, "price-of", func(_ context.Context, id int) (string, error) { return "new", nil }, TTL(time.Hour)).ForgetAll(ctx); err != nil {
		t.Fatal(err)
	}

	for name, c := range map[string]*Cache{"a": a, "b": b, "fresh": fresh} {
		if v, err := c.Get(ctx, "price"); err == nil {
			t.Errorf("%s: tag invalidated, still served: %q", name, v)
		}
		if v, err := c.Get(ctx, "plain"); err == nil {
			t.Errorf("%s: key deleted, still served: %q", name, v)
		}
		got, err := Memoize(c, "price-of", func(_ context.Context, id int) (string, error) { return "new", nil }, TTL(time.Hour)).Get(ctx, 1)
		if err != nil || got != "new" {
			t.Errorf("%s: memoized result forgotten, still served: %q, %v", name, got, err)
		}
	}
}
