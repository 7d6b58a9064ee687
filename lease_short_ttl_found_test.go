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

// shortTTLProcesses returns four processes (Caches on the real Redis, with
// a lease) memoizing one function under ttl, whose first run waits for
// gate, and the count of its runs.
func shortTTLProcesses(t *testing.T, ttl time.Duration, gate chan struct{}) ([]*Cache, []*Memoized[int, string], *atomic.Int64) {
	t.Helper()
	addr := testutil.RedisAddr(t)
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	calls := new(atomic.Int64)
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
		ms = append(ms, Memoize(c, "f", fn, TTL(ttl)))
	}
	return caches, ms, calls
}

// TestLeaseShortTTLFoundByWaiters: four processes miss one memoized result
// whose TTL, 80 ms, is longer than a waiter's longest gap between two reads
// of the lease (leaseMaxPoll, 50 ms, plus its 25% jitter). A runs it under
// the lease while the three others wait, long enough to poll at that gap.
// Each reads the lease again before A's entry leaves the store, finds it,
// and serves it: fn runs once. Released as "not stored" (an entry life
// under 2 x leaseMaxPoll counted as too short), every waiter ran it: 4 runs.
// The margin is a few milliseconds (80 ms against a gap of up to 62.5 ms):
// on a loaded machine a waiter may read late and find the entry gone, and
// then takes the lease and runs fn itself, as any miss does. What is
// asserted is what the bug did: no waiter ran fn without a lease (told
// "not stored").
func TestLeaseShortTTLFoundByWaiters(t *testing.T) {
	gate := make(chan struct{})
	caches, ms, calls := shortTTLProcesses(t, 80*time.Millisecond, gate)
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
	time.Sleep(300 * time.Millisecond) // the waiters poll at the longest gap
	close(gate)
	wg.Wait()
	var leases int64 // taken by waiters (one that finds an entry once it holds it runs nothing)
	for _, c := range caches[1:] {
		leases += c.Stats().Leases
	}
	if leases > 0 {
		t.Logf("%d waiters read the lease after the 80 ms entry had left (a loaded machine)", leases)
	}
	assert.LessOrEqual(t, calls.Load(), 1+leases, "fn runs without the lease: the waiters were told 'not stored'")
}

// TestLeaseShortTTLMarkerLeavesWithTheHerd: A's result (TTL 5 ms) leaves
// the store before its waiters can read it, so its lease is released as
// "not stored", and they run at once (TestLeaseShortTTLNoTurns). That
// marker is for them alone: a miss that comes once they have all read it
// (a longest poll gap later) takes the lease again, as any miss does, so
// that the misses of several processes run the work once. The marker lived
// a whole second: every miss in that second ran the work without the lease.
func TestLeaseShortTTLMarkerLeavesWithTheHerd(t *testing.T) {
	gate := make(chan struct{})
	caches, ms, calls := shortTTLProcesses(t, 5*time.Millisecond, gate)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = ms[0].Get(context.Background(), 1) })
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	for _, m := range ms[1:] {
		wg.Go(func() { _, _ = m.Get(context.Background(), 1) })
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
	require.EqualValues(t, 4, calls.Load(), "each process ran it: its result had left the store")
	require.EqualValues(t, 1, caches[0].Stats().Leases)
	time.Sleep(200 * time.Millisecond) // past every waiter's next read, within a second
	v, err := ms[0].Get(context.Background(), 1)
	require.NoError(t, err)
	assert.Equal(t, "v", v)
	assert.EqualValues(t, 2, caches[0].Stats().Leases, "the next miss takes the lease, or runs without it past the old marker")
}
