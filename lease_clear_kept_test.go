package caching

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refusesLeaseDeleteLate is a Store whose next Delete of a lease key, once
// armed, waits until unblock is closed, then fails with err without
// deleting it: a release in flight that never reaches the backend.
type refusesLeaseDeleteLate struct {
	*simple.Store
	armed   atomic.Bool
	err     error
	entered chan struct{} // closed by that Delete
	unblock chan struct{}
}

func (s *refusesLeaseDeleteLate) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.Contains(k, kindLease) && s.armed.CompareAndSwap(true, false) {
			close(s.entered)
			<-s.unblock
			return s.err
		}
	}
	return s.Store.Delete(ctx, keys...)
}

// Regression: a lease this process kept after a release that never reached
// the backend (ownedLeases) outlived a Clear, which deletes every lease of
// the namespace. Another process's miss then added the key's lease and
// computed, and this process's next miss, finding that lease held, took it
// for the one it kept: it computed beside the other process (and set the
// other's lease again as its own). A Clear ends the leases this process
// kept, and those whose release was in flight across it: the miss waits
// for the other process's result, as for any lease held elsewhere.
func TestLeaseClearForgetsKeptLeases(t *testing.T) {
	for _, inFlight := range []bool{false, true} {
		name := "kept"
		if inFlight {
			name = "release in flight"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &refusesLeaseDeleteLate{Store: newSimple(t, nil), err: failedReleases[0].err,
					entered: make(chan struct{}), unblock: make(chan struct{})}
				unblock := sync.OnceFunc(func() { close(b.unblock) })
				defer unblock()
				if !inFlight {
					unblock()
				}
				k := newClearedKey(t, b, 0)
				b.armed.Store(true)
				v, err := k.ms[0].Get(context.Background(), 1)
				require.NoError(t, err)
				require.EqualValues(t, 1, v)
				<-b.entered     // the release of A's lease
				synctest.Wait() // failed (kept), or waiting for the backend
				require.NoError(t, k.caches[0].Clear(context.Background()))
				unblock()
				synctest.Wait() // A's release failed without reaching the backend
				k.otherLeads(t)
				assert.EqualValues(t, 1, k.caches[0].Stats().LeaseWaits)
			})
		})
	}
}

// clearedKey is two processes, A and Q (Caches on one backend), memoizing
// one key under a lease of a minute; the computation counts its runs and
// those that overlap, and the second waits for second.
type clearedKey struct {
	caches                    [2]*Cache
	ms                        [2]*Memoized[int, int32]
	runs, running, overlapped atomic.Int32
	second                    chan struct{}
}

// newClearedKey returns clearedKey on b, its Caches' Timeout timeout (0:
// the default).
func newClearedKey(t *testing.T, b backend.Backend, timeout time.Duration) *clearedKey {
	k := &clearedKey{second: make(chan struct{})}
	fn := func(context.Context, int) (int32, error) {
		n := k.runs.Add(1)
		if k.running.Add(1) > 1 {
			k.overlapped.Add(1)
		}
		defer k.running.Add(-1)
		if n == 2 {
			<-k.second
		}
		return n, nil
	}
	for i := range k.caches {
		k.caches[i] = Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute, Timeout: timeout})
		t.Cleanup(func() { _ = k.caches[i].Close() })
		k.ms[i] = Memoize(k.caches[i], "cleared", fn)
	}
	return k
}

// otherLeads: once a Clear of A's ended the lease A computed the key
// under, Q's miss adds the key's lease and computes; A's miss then waits
// for Q's result rather than take Q's lease for its own and compute beside
// it. Called in a synctest bubble, after A's first computation.
func (k *clearedKey) otherLeads(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	var fromQ int32
	wg.Go(func() { // adds the key's lease, which the Clear ended, and computes
		v, err := k.ms[1].Get(context.Background(), 1)
		assert.NoError(t, err)
		fromQ = v
	})
	synctest.Wait()
	require.EqualValues(t, 2, k.runs.Load())
	var fromA int32
	wg.Go(func() {
		v, err := k.ms[0].Get(context.Background(), 1)
		assert.NoError(t, err)
		fromA = v
	})
	synctest.Wait()
	assert.EqualValues(t, 2, k.runs.Load(), "A computes beside Q's computation under Q's lease")
	close(k.second)
	wg.Wait()
	assert.EqualValues(t, 2, fromQ)
	assert.EqualValues(t, 2, fromA, "A waits for Q's result")
	assert.Zero(t, k.overlapped.Load(), "two computations at once")
}
