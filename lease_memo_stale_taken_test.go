package caching

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseMemoStaleServedOnLeaseTakenAfterLook: a memoized call with a
// stale result (StaleIfError) serves it at once where another process
// holds the key's lease (Memoized.leaseHeld). Where that process took the
// lease after the call's look (which found it free) and before its run's
// Add, the Add found it held and the call waited for that process's run,
// up to the whole Lease, instead. It now serves its stale result at once;
// a caller without one that joined its run still waits for the other
// process's run, and gets its result.
func TestLeaseMemoStaleServedOnLeaseTakenAfterLook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &leaseReadGap{heldLeaseMarks: newHeldLeaseMarks(t)}
		c := leased(b)
		defer c.Close()
		var calls atomic.Int32
		fn := failsAfterFirst(&calls)
		m := staleMemo(t, c, fn)
		// The same function, under the same name, without StaleIfError:
		// its call joins m's computation of the key, with no stale result.
		plain := Memoize(c, "f", fn, TTL(time.Second))

		// Another process, on the same store, whose run of the key takes
		// its lease between the call's look and its run's Add.
		other := leased(b)
		defer other.Close()
		var otherCalls atomic.Int32
		started, release := make(chan struct{}), make(chan struct{})
		peer := Memoize(other, "f", func(context.Context, int) (string, error) {
			otherCalls.Add(1)
			close(started)
			<-release
			return "v2", nil
		}, TTL(time.Second))
		var peerDone <-chan getResult
		gap := func() {
			peerDone = goGet(peer, 1)
			<-started
		}
		b.gap.Store(&gap)
		end := sync.OnceFunc(func() { close(release) }) // the other process's run
		defer end()

		next := goGet(m, 1)
		synctest.Wait()
		require.Nil(t, b.gap.Load(), "the other process took the lease")
		joiner := goGet(plain, 1)
		synctest.Wait()

		r, ok := ready(next)
		if !assert.True(t, ok, "the call with a stale result waited for the other process's run") {
			end()
			r = <-next
		}
		assert.NoError(t, r.err)
		assert.Equal(t, "v1", r.v, "the stale result")

		// The caller without a stale result waits for the other
		// process's run, and gets its result.
		r, ok = ready(joiner)
		assert.False(t, ok, "the call without a stale result did not wait for the other process's run")
		end()
		require.NoError(t, (<-peerDone).err)
		if !ok {
			r = <-joiner
		}
		assert.NoError(t, r.err)
		assert.Equal(t, "v2", r.v, "the other process's result")
		assert.EqualValues(t, 1, calls.Load(), "the function did not run beside the other process's run")
		assert.EqualValues(t, 1, otherCalls.Load())
	})
}
