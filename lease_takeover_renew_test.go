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

// Regression: a lease kept after a release that never reached the backend
// was taken over with what was left of it. Taken over 5 s before its end,
// the run (10 s) outlived it, and another process's miss after its end
// added the key's lease and ran the function beside it: two runs at once,
// where the miss that waited the lease out before led alone. The lease
// taken over is the process's for a whole Lease again: the other process
// waits for that run's result.
func TestLeaseTakeoverOutlivesNoOtherRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &failsLeaseDeleteOnce{Store: newSimple(t, nil), err: failedReleases[0].err}
		var runs, running, overlapped atomic.Int32
		memo := func(c *Cache) *Memoized[int, int32] {
			return Memoize(c, "renewed", func(context.Context, int) (int32, error) {
				n := runs.Add(1)
				if running.Add(1) > 1 {
					overlapped.Add(1)
				}
				defer running.Add(-1)
				if n > 1 {
					time.Sleep(10 * time.Second)
				}
				return n, nil
			}, TTL(time.Second))
		}
		a := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
		defer a.Close()
		q := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
		defer q.Close()
		ma, mq := memo(a), memo(q)
		b.armed.Store(true)
		got, err := ma.Get(context.Background(), 1)
		require.NoError(t, err)
		require.EqualValues(t, 1, got)
		synctest.Wait()
		require.False(t, b.armed.Load(), "the lease's Delete failed")

		time.Sleep(55 * time.Second) // the entry expired; 5 s left of the lease
		var wg sync.WaitGroup
		var fromA, fromQ int32
		wg.Go(func() {
			v, err := ma.Get(context.Background(), 1) // takes the lease over
			assert.NoError(t, err)
			fromA = v
		})
		time.Sleep(6 * time.Second) // past the first lease's end; A's run goes on
		wg.Go(func() {
			v, err := mq.Get(context.Background(), 1)
			assert.NoError(t, err)
			fromQ = v
		})
		wg.Wait()
		assert.EqualValues(t, 2, fromA)
		assert.EqualValues(t, 2, fromQ, "the other process waited for the run under the lease taken over")
		assert.Zero(t, overlapped.Load(), "two runs at once")
		assert.EqualValues(t, 2, runs.Load())
	})
}
