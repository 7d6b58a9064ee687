package caching

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

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
				var runs, running, overlapped atomic.Int32
				second := make(chan struct{})
				fn := func(context.Context, int) (int32, error) {
					n := runs.Add(1)
					if running.Add(1) > 1 {
						overlapped.Add(1)
					}
					defer running.Add(-1)
					if n == 2 {
						<-second
					}
					return n, nil
				}
				var caches [2]*Cache
				var ms [2]*Memoized[int, int32]
				for i := range caches {
					caches[i] = Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
					t.Cleanup(func() { _ = caches[i].Close() })
					ms[i] = Memoize(caches[i], "cleared", fn)
				}
				b.armed.Store(true)
				v, err := ms[0].Get(context.Background(), 1)
				require.NoError(t, err)
				require.EqualValues(t, 1, v)
				<-b.entered     // the release of A's lease
				synctest.Wait() // failed (kept), or waiting for the backend
				require.NoError(t, caches[0].Clear(context.Background()))
				unblock()
				synctest.Wait() // A's release failed without reaching the backend

				var wg sync.WaitGroup
				var fromQ int32
				wg.Go(func() { // adds the key's lease, which the Clear ended, and computes
					v, err := ms[1].Get(context.Background(), 1)
					assert.NoError(t, err)
					fromQ = v
				})
				synctest.Wait()
				require.EqualValues(t, 2, runs.Load())
				var fromA int32
				wg.Go(func() {
					v, err := ms[0].Get(context.Background(), 1)
					assert.NoError(t, err)
					fromA = v
				})
				synctest.Wait()
				assert.EqualValues(t, 2, runs.Load(), "A computes beside Q's computation under Q's lease")
				close(second)
				wg.Wait()
				assert.EqualValues(t, 2, fromQ)
				assert.EqualValues(t, 2, fromA, "A waits for Q's result")
				assert.Zero(t, overlapped.Load(), "two computations at once")
				assert.EqualValues(t, 1, caches[0].Stats().LeaseWaits)
			})
		})
	}
}
