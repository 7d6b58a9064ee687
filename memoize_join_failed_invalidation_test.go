package caching

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeJoinAfterFailedInvalidation pins what a Get made after an
// invalidation that failed (its delete left the versions in place, and
// waits in the retry set) gets when it joins a computation that began
// before it: not that computation's result, which may predate the change,
// but a newer one. A view's waiters ask the retry set for this
// (view.stale); Memoize's joiners need not, because a failed invalidation
// is counted, as one that landed is, in the store's invalidations once its
// delete has returned (store.invalidate), which doSince compares with the
// count when the computation began; and Forget forgets the key's flight.
func TestMemoizeJoinAfterFailedInvalidation(t *testing.T) {
	for _, inv := range []struct {
		name string
		do   func(ctx context.Context, m *Memoized[int, string]) error
	}{
		{"InvalidateTags", func(ctx context.Context, m *Memoized[int, string]) error { return m.c.InvalidateTags(ctx, "users") }},
		{"ForgetAll", func(ctx context.Context, m *Memoized[int, string]) error { return m.ForgetAll(ctx) }},
		{"Forget", func(ctx context.Context, m *Memoized[int, string]) error { return m.Forget(ctx, 42) }},
	} {
		for _, lease := range []time.Duration{0, time.Second} {
			t.Run(fmt.Sprintf("%s/lease=%v", inv.name, lease), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx := t.Context()
					r := &flakyDeletes{remote: &remote{Backend: newSimple(t, nil)}}
					c := Must(&Options{Backend: r, Lease: lease, Breaker: BreakerOptions{Threshold: 1 << 30}})
					t.Cleanup(func() { _ = c.Close() })
					var db atomic.Value
					db.Store("old")
					var calls atomic.Int64
					gate := make(chan struct{})
					m := Memoize(c, "user", func(context.Context, int) (string, error) {
						v := db.Load().(string) // read before the write...
						if calls.Add(1) == 1 {
							<-gate // ...returned after it
						}
						return v, nil
					}, Tags("users"))
					get := func() <-chan string {
						got := make(chan string, 1)
						go func() {
							v, err := m.Get(ctx, 42)
							assert.NoError(t, err)
							got <- v
						}()
						return got
					}

					early := get()
					synctest.Wait() // its computation read "old"
					db.Store("new")
					r.deletesDown.Store(true) // reads are answered, deletes fail
					require.Error(t, inv.do(ctx, m), "the failed invalidation returns its error")
					require.EqualValues(t, 1, c.Stats().PendingInvalidations, "and waits for its retry")

					late := get()   // made after the invalidation returned
					synctest.Wait() // it joined the first computation, or began its own
					close(gate)
					assert.Equal(t, "old", <-early, "the first Get gets what its computation read")
					assert.Equal(t, "new", <-late, "a Get made after %s failed got the result computed before it", inv.name)
				})
			})
		}
	}
}
