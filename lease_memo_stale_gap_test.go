package caching

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leaseReadGap is heldLeaseMarks whose next read of a lease, once armed
// (gap), is answered as the backend had it, but only after gap ran: what
// another call makes between a memoized call's look at the lease
// (Memoized.leaseHeld) and its run; and whose next Add of a lease, once
// armed (addGap), is made after addGap ran: what another call makes
// between the run's look at this process's releases and its Add.
type leaseReadGap struct {
	*heldLeaseMarks
	gap, addGap atomic.Pointer[func()]
}

func (s *leaseReadGap) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.heldLeaseMarks.Get(ctx, key)
	if strings.Contains(key, kindLease) {
		if f := s.gap.Swap(nil); f != nil {
			(*f)()
		}
	}
	return v, err
}

func (s *leaseReadGap) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if strings.Contains(key, kindLease) {
		if f := s.addGap.Swap(nil); f != nil {
			(*f)()
		}
	}
	return s.heldLeaseMarks.Add(ctx, key, v, ttl)
}

// TestLeaseMemoStaleServedOnMarkBegunAfterLook: a memoized call with a
// stale result (StaleIfError) serves it while this process's release that
// marks the lease "not stored" is in flight. Where that release began
// after the call's look at the lease (leaseHeld, which found it free) and
// before its run's look at this process's releases (another call of the
// key ran and failed in between), the call waited for that release, up to
// the Cache's Timeout, before it called the function again. It now serves
// its stale result at once; a caller without one that joined its run
// waits for that release, and gets the function's result, as before. So
// where the release began after the run's look, before its Add, which
// found the lease held (ownedLeases.take).
func TestLeaseMemoStaleServedOnMarkBegunAfterLook(t *testing.T) {
	t.Run("before the run", func(t *testing.T) { testLeaseMemoStaleGap(t, false) })
	t.Run("before the Add", func(t *testing.T) { testLeaseMemoStaleGap(t, true) })
}

// testLeaseMemoStaleGap is TestLeaseMemoStaleServedOnMarkBegunAfterLook,
// with the other call made before the run's Add (atAdd), else before its
// run.
func testLeaseMemoStaleGap(t *testing.T, atAdd bool) {
	synctest.Test(t, func(t *testing.T) {
		b := &leaseReadGap{heldLeaseMarks: newHeldLeaseMarks(t)}
		c := leased(b)
		defer c.Close()
		defer b.Unblock()
		var calls atomic.Int32
		fn := failsAfterFirst(&calls)
		m := staleMemo(t, c, fn)
		// The same function, under the same name, without StaleIfError:
		// its call joins m's computation of the key, with no stale result.
		plain := Memoize(c, "f", fn, TTL(time.Second))

		// Between the call's look at the lease and its run, another call
		// of the key runs, fails (its caller gets the stale result), and
		// its release, which marks the lease, waits for the backend.
		gap := func() {
			b.armed.Store(true)
			v, err := m.Get(context.Background(), 1)
			assert.NoError(t, err)
			assert.Equal(t, "v1", v)
			<-b.entered
		}
		armed := &b.gap
		if atAdd {
			// Between the run's look and its Add, the run can be no
			// call's of this function (they join it): another run of
			// this process under the key's lease (a computation taken
			// over, overdue, that ends since) fails, and its release
			// marks the lease.
			k, err := m.appendKey(nil, 1)
			require.NoError(t, err)
			gap = func() {
				b.armed.Store(true)
				l, added, err := c.addLease(context.Background(), c.leaseKey(string(k)), time.Minute)
				assert.NoError(t, err)
				assert.True(t, added)
				calls.Add(1) // its run
				c.releaseLeaseLater(l, false)
				<-b.entered
			}
			armed = &b.addGap
		}
		armed.Store(&gap)
		next := goGet(m, 1)
		synctest.Wait()
		require.Nil(t, armed.Load(), "the other call ran")
		require.EqualValues(t, 2, calls.Load())
		joiner := goGet(plain, 1)
		synctest.Wait()

		r, ok := ready(next)
		if !assert.True(t, ok, "the call with a stale result waited for the release in flight") {
			b.Unblock()
			r = <-next
		}
		assert.NoError(t, r.err)
		assert.Equal(t, "v1", r.v, "the stale result")

		// The caller without a stale result waits for the release, and
		// gets the function's own result.
		r, ok = ready(joiner)
		assert.False(t, ok, "the call without a stale result did not wait for the release")
		if !ok {
			b.Unblock()
			r = <-joiner
		}
		assert.EqualError(t, r.err, "the origin failed")
		assert.EqualValues(t, 3, calls.Load(), "one run after the release")
	})
}
