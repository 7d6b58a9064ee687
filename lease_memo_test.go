package caching

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A memoized result that is not stored (SkipZero, StoreIf) marks the lease
// "not stored", as a view's unstored response does: the waiters of every
// other process then run the function at once, together, instead of taking
// turns under the lease, each turn a whole run long.
func TestLeaseMemoizeUnstoredResultReleasesTheWaitersAtOnce(t *testing.T) {
	for name, opt := range map[string]MemoOption{
		"SkipZero": SkipZero(),
		"StoreIf":  StoreIf(func(int) bool { return false }),
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, s := leasePair(t, Options{Lease: time.Minute})
				c, err := New(&Options{Backend: s, Lease: time.Minute})
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				const run = 10 * time.Second
				fn := func(ctx context.Context, n int) (int, error) {
					time.Sleep(run)
					return 0, nil
				}
				ma := Memoize(a, "zero", fn, opt)
				var wg sync.WaitGroup
				wg.Go(func() { _, _ = ma.Get(context.Background(), 1) })
				synctest.Wait() // a holds the lease and runs fn
				start := time.Now()
				var took [2]time.Duration
				for i, cache := range []*Cache{b, c} {
					m := Memoize(cache, "zero", fn, opt)
					wg.Go(func() {
						_, _ = m.Get(context.Background(), 1)
						took[i] = time.Since(start)
					})
				}
				wg.Wait()
				for i, d := range took {
					assert.LessOrEqual(t, d, 2*run+time.Second, "waiter %d: it waited for another waiter's run", i)
				}
			})
		})
	}
}
