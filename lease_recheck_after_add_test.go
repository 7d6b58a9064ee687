package caching

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// slowLeaseAdd hides the simple store's in-process methods, as remote does:
// the Caches on it share it as processes share Redis. With hold set, its
// next Add of a lease key signals entered and waits for released before it
// adds: a slow round trip.
type slowLeaseAdd struct {
	backend.Backend
	hold     atomic.Bool
	entered  chan struct{}
	released chan struct{}
}

func (r *slowLeaseAdd) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if strings.HasPrefix(key, "l/") && r.hold.CompareAndSwap(true, false) {
		close(r.entered)
		<-r.released
	}
	return r.Backend.Add(ctx, key, v, ttl)
}

// TestLeaseWaiterRechecksAfterItsAdd: a waiter that saw the lease gone
// (expired: its holder hung; or handed on by a holder whose caller left)
// with no entry stored added the lease and led, without looking at the
// entry again. Another process whose whole run (take the lease, run,
// store, release) fell within that Add's round trip had its result run
// again by the waiter. The waiter now looks again after its Add, as a
// first Add does, and serves the stored result.
func TestLeaseWaiterRechecksAfterItsAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSimple(t, nil)
		newB := func() *slowLeaseAdd {
			return &slowLeaseAdd{Backend: store, entered: make(chan struct{}), released: make(chan struct{})}
		}
		bA, bW, bX := newB(), newB(), newB()
		var runs atomic.Int32
		hang := make(chan struct{})
		defer close(hang)
		fn := func(ctx context.Context, n int) (int, error) {
			if runs.Add(1) == 1 { // process A's run: it hangs past its lease
				<-hang
				return 0, errors.New("hung")
			}
			return n * 2, nil
		}
		mk := func(b backend.Backend) (*Cache, *Memoized[int, int]) {
			c := Must(&Options{Backend: b, Lease: time.Second, Timeout: 5 * time.Second})
			t.Cleanup(func() { c.Close() })
			return c, Memoize(c, "double", fn)
		}
		_, mA := mk(bA)
		cW, mW := mk(bW)
		_, mX := mk(bX)
		ctx := context.Background()

		go func() { _, _ = mA.Get(ctx, 21) }()
		synctest.Wait() // A holds the lease until 1s, and hangs
		require.EqualValues(t, 1, runs.Load())
		time.Sleep(300 * time.Millisecond) // W comes later: its wait ends at 1.3s, after A's lease
		wDone := make(chan int, 1)
		go func() {
			v, err := mW.Get(ctx, 21)
			assert.NoError(t, err)
			wDone <- v
		}()
		synctest.Wait()
		require.EqualValues(t, 1, cW.Stats().LeaseWaits, "W waits for A's lease")
		bW.hold.Store(true)
		select {
		case <-bW.entered: // A's lease expired: W found no entry and is adding the lease
		case <-time.After(time.Second):
			t.Fatal("W never added the lease")
		}

		v, err := mX.Get(ctx, 21) // X takes the lease, runs, stores and releases it
		require.NoError(t, err)
		require.Equal(t, 42, v)
		require.EqualValues(t, 2, runs.Load())
		close(bW.released)

		assert.Equal(t, 42, <-wDone)
		assert.EqualValues(t, 2, runs.Load(), "W ran the function again, although X's result was stored before W took the lease")
	})
}
