package caching

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestLeaseShortTTLNoTurns: four processes (Caches on the real Redis) miss
// one memoized result whose TTL (5 ms) is shorter than the lease's poll
// gap. Process A runs it under the lease while the three others wait. A's
// result leaves the store before most waiters read the lease again: they
// found the lease gone with no entry, took it in turn, and ran one after
// the other, a poll gap apart (4 runs in 466 ms, against 108 ms with no
// lease). A now releases its lease as "not stored", so that the waiters run
// at once: one lease taken in all, not one per turn.
func TestLeaseShortTTLNoTurns(t *testing.T) {
	addr := testutil.RedisAddr(t)
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	gate := make(chan struct{})
	var calls atomic.Int64
	fn := func(context.Context, int) (string, error) {
		if calls.Add(1) == 1 {
			<-gate
		}
		return "v", nil
	}
	var caches []*Cache
	var ms []*Memoized[int, string]
	for range 4 {
		s, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		require.NoError(t, err)
		c := Must(&Options{Backend: s, Lease: time.Minute})
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		caches = append(caches, c)
		ms = append(ms, Memoize(c, "f", fn, TTL(5*time.Millisecond)))
	}
	var wg sync.WaitGroup
	get := func(m *Memoized[int, string]) {
		wg.Go(func() {
			v, err := m.Get(context.Background(), 1)
			assert.NoError(t, err)
			assert.Equal(t, "v", v)
		})
	}
	get(ms[0])
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	for _, m := range ms[1:] {
		get(m)
	}
	require.Eventually(t, func() bool {
		for _, c := range caches[1:] {
			if c.Stats().LeaseWaits != 1 {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond, "the three others wait for A's lease")
	close(gate)
	wg.Wait()
	var leases int64
	for _, c := range caches {
		leases += c.Stats().Leases
	}
	assert.EqualValues(t, 1, leases, "leases taken: A's, then one per turn of the waiters")
	assert.EqualValues(t, 4, calls.Load(), "each process ran it: its result had left the store")
}
