package caching

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// pausedLeaseAdd is a Redis store, with all its methods (slowLeaseAdd's
// backend.Backend would hide those the Cache finds by type assertion),
// whose next Add of a lease key, once hold is set, waits before it is sent:
// it closes entered, and is made once released is closed (a request slow
// to leave its process).
type pausedLeaseAdd struct {
	*redisstore.Store
	hold     atomic.Bool
	entered  chan struct{}
	released chan struct{}
}

func (r *pausedLeaseAdd) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if strings.Contains(key, kindLease) && r.hold.CompareAndSwap(true, false) {
		close(r.entered)
		<-r.released
	}
	return r.Store.Add(ctx, key, v, ttl)
}

// leaseAddAfterRun runs the case of the tests below on the Redis at addr:
// two Caches on it, as two processes. Process A's run holds the lease and
// blocks in run until open is closed; process B misses, and its lease Add is
// held until A's run has stored its result and released the lease. get
// makes B's call; it returns what B got and whether A's run answered it.
func leaseAddAfterRun(t *testing.T, addr string, setup func(a, b *Cache, open <-chan struct{}) (first func(), get func() bool, calls func() int64)) {
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	open := func() (*Cache, *pausedLeaseAdd) {
		s, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		require.NoError(t, err)
		b := &pausedLeaseAdd{Store: s, entered: make(chan struct{}), released: make(chan struct{})}
		c := Must(&Options{Backend: b, Lease: time.Minute})
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		return c, b
	}
	a, _ := open()
	b, bB := open()
	gate := make(chan struct{})
	first, get, calls := setup(a, b, gate)
	// A's run holds the lease.
	require.Eventually(t, func() bool { return calls() == 1 }, 5*time.Second, time.Millisecond)
	bB.hold.Store(true)
	answered := make(chan bool, 1)
	go func() { answered <- get() }()
	<-bB.entered // B missed, and its Add is on its way
	close(gate)
	first()
	// A stored its result and released the lease.
	leases := prefix + a.prefix + kindLease + "*"
	require.Eventually(t, func() bool {
		keys, err := bB.Client().Keys(context.Background(), leases).Result()
		return err == nil && len(keys) == 0
	}, 5*time.Second, time.Millisecond)
	close(bB.released) // B's Add succeeds: the lease is free
	assert.True(t, <-answered, "B did not get A's result")
	assert.EqualValues(t, 1, calls(), "B ran the work again, although A's result was stored before B took the lease")
}

// TestLeaseAddAfterTheRunEndedTakesItsResult: process B missed while
// process A's run held the lease; A's run stored its result and released
// the lease before B's Add was made, so B's Add succeeded. B looked the
// entry up again after its Add (as it must: A may have run meanwhile), but
// took only a fresh one: a result stored since B's miss and stale on
// arrival (StaleIf declares it so) was not taken, and B ran the handler
// (or function) a second time, where a caller that joined A's run in its
// process is handed that result. B now takes the entry stored since its
// miss, as a waiter whose Add failed does. Views and Memoize, on miniredis
// and the real Redis.
func TestLeaseAddAfterTheRunEndedTakesItsResult(t *testing.T) {
	servers := map[string]func(t *testing.T) string{
		"miniredis": func(t *testing.T) string { return miniredis.RunT(t).Addr() },
		"redis":     func(t *testing.T) string { return testutil.RedisAddr(t) },
	}
	for name, addr := range servers {
		t.Run(name, func(t *testing.T) {
			for _, stale := range []bool{false, true} {
				kind := "fresh"
				if stale {
					kind = "stale on arrival"
				}
				t.Run("view/"+kind, func(t *testing.T) {
					leaseAddAfterRun(t, addr(t), func(a, b *Cache, open <-chan struct{}) (func(), func() bool, func() int64) {
						h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
							<-open
							if stale {
								w.Header().Set("X-Degraded", "1")
							}
						}}
						opts := []ViewOption{CacheStatusHeader("X-Cache"),
							StaleIf(func(r *Response) bool { return r.Header.Get("X-Degraded") != "" })}
						va, vb := a.Cached(time.Hour, opts...)(h), b.Cached(time.Hour, opts...)(h)
						first := getAll(va, "/p", 1)
						return func() { assert.Equal(t, "page #1", first()[0].Body.String()) },
							func() bool {
								w := get(vb, "/p")
								return w.Body.String() == "page #1" && w.Header().Get("X-Cache") == "HIT"
							},
							h.calls.Load
					})
				})
				t.Run("memoize/"+kind, func(t *testing.T) {
					leaseAddAfterRun(t, addr(t), func(a, b *Cache, open <-chan struct{}) (func(), func() bool, func() int64) {
						var calls atomic.Int64
						fn := func(context.Context, int) (string, error) {
							n := calls.Add(1)
							<-open
							if stale {
								return "degraded #" + string(rune('0'+n)), nil
							}
							return "ok #" + string(rune('0'+n)), nil
						}
						opts := []MemoOption{TTL(time.Hour), StaleIf(func(v string) bool { return strings.HasPrefix(v, "degraded") })}
						ma, mb := Memoize(a, "f", fn, opts...), Memoize(b, "f", fn, opts...)
						want := "ok #1"
						if stale {
							want = "degraded #1"
						}
						done := make(chan struct{})
						go func() {
							defer close(done)
							v, err := ma.Get(context.Background(), 1)
							assert.NoError(t, err)
							assert.Equal(t, want, v)
						}()
						return func() { <-done },
							func() bool {
								v, err := mb.Get(context.Background(), 1)
								return err == nil && v == want
							},
							calls.Load
					})
				})
			}
		})
	}
}
