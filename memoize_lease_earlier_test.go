package caching

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/testutil"
)

// earlierLeaseOverrun runs, on a and b (two Caches sharing a backend,
// with lease d), process A's lease holder past its lease while process B's
// caller, come d/2 later, waited it out and computes under the next lease;
// A's run ends first. It returns what A's and B's callers got and what
// each process serves then, and the function's runs.
func earlierLeaseOverrun(t *testing.T, a, b *Cache, d time.Duration) (got, after [2]string, runs int32) {
	t.Helper()
	ctx := context.Background()
	var n atomic.Int32
	gates := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	fn := func(context.Context, int) (string, error) {
		i := n.Add(1)
		<-gates[i-1]
		return fmt.Sprintf("run %d", i), nil
	}
	ma, mb := Memoize(a, "f", fn), Memoize(b, "f", fn)
	var aDone, bDone sync.WaitGroup
	aDone.Go(func() {
		v, err := ma.Get(ctx, 1)
		assert.NoError(t, err)
		got[0] = v
	})
	until(t, "A's holder runs", func() bool { return n.Load() == 1 })
	time.Sleep(d / 2) // B's miss comes later, within A's lease
	bDone.Go(func() {
		v, err := mb.Get(ctx, 1) // waits out A's lease, then computes
		assert.NoError(t, err)
		got[1] = v
	})
	until(t, "B's holder runs, past A's lease", func() bool { return n.Load() == 2 })
	close(gates[0]) // A's run, past its lease, ends first
	aDone.Wait()
	close(gates[1]) // B's, within its own, last
	bDone.Wait()
	for i, m := range []*Memoized[int, string]{ma, mb} {
		v, err := m.Get(ctx, 1)
		assert.NoError(t, err)
		after[i] = v
	}
	return got, after, n.Load()
}

// TestMemoizeLeaseOverrunStoresAndNextHolderKeepsIt: process A's lease
// holder overruns its lease; process B's caller waits it out, takes the
// next lease and computes. A's run ends first, while B's still runs: A,
// past its lease, stores its result although B holds the key's lease
// (standing aside, a function slower than its lease under spaced calls was
// never stored); B's look finds that entry and keeps it, B's newer result
// going to B's caller only. The stored result is a run older than B's: the
// trade-off the lease accepts.
func TestMemoizeLeaseOverrunStoresAndNextHolderKeepsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Second})
		got, after, runs := earlierLeaseOverrun(t, a, b, time.Second)
		assert.Equal(t, [2]string{"run 1", "run 2"}, got, "each caller gets its own run's result")
		assert.Equal(t, [2]string{"run 1", "run 1"}, after, "both processes serve the stored result")
		assert.EqualValues(t, 2, runs)
	})
}

// TestMemoizeLeaseOverrunStoresAndNextHolderKeepsItOnRedis: as
// TestMemoizeLeaseOverrunStoresAndNextHolderKeepsIt, with two Caches on a
// real Redis, as two processes.
func TestMemoizeLeaseOverrunStoresAndNextHolderKeepsItOnRedis(t *testing.T) {
	addr := testutil.RedisAddr(t)
	a, b := redisLeasePair(t, addr, 500*time.Millisecond)
	got, after, runs := earlierLeaseOverrun(t, a, b, 500*time.Millisecond)
	assert.Equal(t, [2]string{"run 1", "run 2"}, got, "each caller gets its own run's result")
	assert.Equal(t, [2]string{"run 1", "run 1"}, after, "both processes serve the stored result")
	assert.EqualValues(t, 2, runs)
}
