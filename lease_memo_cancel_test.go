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

	"github.com/go-caching/caching/internal/flight"
)

// TestLeaseMemoizeCancelledLeaderHandsTheLeaseOn: a memoized call that
// holds the lease, and whose work the flight cancels (every caller of this
// process left, past flight.MaxDetached calls nobody waits for), says
// nothing of whether its result can be stored. It marked the lease "not
// stored", as an error or a result StoreIf refuses does, and the waiters
// of every other process then all ran the function at once. It now hands
// the lease on, as a view whose client left does: one waiter takes it and
// runs the function, and the others get its stored result.
func TestLeaseMemoizeCancelledLeaderHandsTheLeaseOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, s := leasePair(t, Options{Lease: time.Hour})
		c, err := New(&Options{Backend: nopClose{s}, Lease: time.Hour}) // a third process
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })

		const key = 1000
		open := make(chan struct{}) // ends the calls a's callers left
		ma := Memoize(a, "f", func(ctx context.Context, n int) (int, error) {
			select {
			case <-open:
				return n, nil
			case <-ctx.Done(): // cancelled: nobody waits for it
				return 0, ctx.Err()
			}
		})
		var runs atomic.Int64 // of key, in b and c
		fn := func(_ context.Context, n int) (int, error) {
			if n == key {
				runs.Add(1)
				time.Sleep(time.Second)
			}
			return n, nil
		}
		mb, mc := Memoize(b, "f", fn), Memoize(c, "f", fn)

		// flight.MaxDetached calls of a run on with nobody waiting.
		var wg sync.WaitGroup
		left, leave := context.WithCancel(context.Background())
		for i := range flight.MaxDetached {
			wg.Go(func() { _, _ = ma.Get(left, i) })
		}
		synctest.Wait()
		leave()
		synctest.Wait()

		// a leads key under the lease; b and c wait for it.
		ctx, cancel := context.WithCancel(context.Background())
		wg.Go(func() { _, _ = ma.Get(ctx, key) })
		synctest.Wait()
		got := make(chan int, 2)
		for _, m := range []*Memoized[int, int]{mb, mc} {
			wg.Go(func() {
				v, err := m.Get(context.Background(), key)
				assert.NoError(t, err)
				got <- v
			})
		}
		synctest.Wait()
		require.Zero(t, runs.Load(), "setup: b and c wait for a's lease")

		cancel() // a's caller leaves: its work is cancelled
		assert.Equal(t, key, <-got)
		assert.Equal(t, key, <-got)
		assert.EqualValues(t, 1, runs.Load(), "runs of the function in b and c, once a's call was cancelled")
		close(open)
		wg.Wait()
	})
}
