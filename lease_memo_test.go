package caching

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
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
				assert.Equal(t, 3, leaseWaitersRun(t, a, b, s, 0, nil, opt), "the waiters run it at once")
			})
		})
	}
}

// So does a result that is to be stored but is not: one the Codec cannot
// encode, or one the backend refuses (over its item size, as memcached's
// 1 MiB, or a Redis out of memory). Before, the leader deleted the lease as
// if it had stored the entry: the waiters found neither lease nor entry,
// and ran the function one after another (five processes, a 300 ms
// function: the last answered after 1.5 s). A result forgotten while the
// function ran is not stored either, but its lease is deleted: one waiter
// runs the function again and stores its result, which the other reads.
func TestLeaseMemoizeUnsavedResultReleasesTheWaitersAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result any
		forget bool // Forget while the leader's run is in flight
		runs   int  // of the function, in the three processes
	}{
		{"unencodable", math.NaN(), false, 3}, // JSON has no NaN
		{"refused by the backend", strings.Repeat("x", 100<<10), false, 3},
		{"forgotten while it ran", "result", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Entries of at most 64 KiB: the backend refuses the large result.
				s := &remote{Backend: simple.Must(simple.Options{MaxBytes: 64 << 10, Shards: 1})}
				t.Cleanup(func() { s.Close() })
				open := func() *Cache {
					c, err := New(&Options{Backend: nopClose{s}, Lease: time.Minute})
					require.NoError(t, err)
					t.Cleanup(func() { c.Close() })
					return c
				}
				var during func(*Memoized[int, any])
				if tc.forget {
					during = func(m *Memoized[int, any]) { require.NoError(t, m.Forget(context.Background(), 1)) }
				}
				assert.Equal(t, tc.runs, leaseWaitersRun(t, open(), open(), s, tc.result, during), "runs of the function")
			})
		})
	}
}

// leaseWaitersRun memoizes a 10 s function returning result in a and in
// two more Caches on s (b and one of its own), as three processes, lets a's
// Get lead (calling during, if not nil, while it runs), checks that the
// Gets of the other two, waiting for a's run, then answer within one more
// run, not one after the other, and returns how many times the function ran.
func leaseWaitersRun[R any](t *testing.T, a, b *Cache, s *remote, result R, during func(*Memoized[int, R]), opts ...MemoOption) int {
	t.Helper()
	c, err := New(&Options{Backend: nopClose{s}, Lease: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	const run = 10 * time.Second
	var runs atomic.Int64
	fn := func(ctx context.Context, n int) (R, error) {
		runs.Add(1)
		time.Sleep(run)
		return result, nil
	}
	ma := Memoize(a, "unsaved", fn, opts...)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = ma.Get(context.Background(), 1) })
	synctest.Wait() // a holds the lease and runs fn
	start := time.Now()
	var took [2]time.Duration
	for i, cache := range []*Cache{b, c} {
		m := Memoize(cache, "unsaved", fn, opts...)
		wg.Go(func() {
			_, _ = m.Get(context.Background(), 1)
			took[i] = time.Since(start)
		})
	}
	if during != nil {
		synctest.Wait() // b and c wait for a's run
		during(ma)
	}
	wg.Wait()
	for i, d := range took {
		assert.LessOrEqual(t, d, 2*run+time.Second, "waiter %d: it waited for another waiter's run", i)
	}
	return int(runs.Load())
}

// The same on real servers, five Caches on clients of their own as five
// processes: a result JSON cannot encode, on Redis, and one over memcached's
// item size. The four Gets that wait for the first one's run then run the
// function together, not one after another: a later run waits (up to
// together, a long time) until another later run has started, which one
// after another never does; and none waits for the Lease's time.
func TestLeaseMemoizeUnsavedResultOnRealServers(t *testing.T) {
	const procs = 5
	for _, tc := range []struct {
		name   string
		open   func(t *testing.T, prefix string) backend.Backend
		result any
	}{
		{"redis, unencodable", func(t *testing.T, prefix string) backend.Backend {
			opts := redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: prefix}
			b, err := redisstore.New(opts)
			require.NoError(t, err)
			// The function's generation key has no expiry: remove the
			// prefix's keys once the Caches (which close b) are closed.
			t.Cleanup(func() {
				if b, err := redisstore.New(opts); err == nil {
					_ = b.Clear(context.Background())
					_ = b.Close()
				}
			})
			return b
		}, math.NaN()},
		{"memcached, too large", func(t *testing.T, prefix string) backend.Backend {
			// Servers run with -I 4k, say (small, to keep the test quick).
			b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: prefix, MaxItemSize: 4 << 10, Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			return b
		}, strings.Repeat("x", 8<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := fmt.Sprint("caching-test-unsaved-", time.Now().UnixNano())
			const run, together, lease = 300 * time.Millisecond, 10 * time.Second, time.Minute
			var runs, running, mostRunning atomic.Int64
			fn := func(context.Context, int) (any, error) {
				n, now := runs.Add(1), running.Add(1)
				defer running.Add(-1)
				for most := mostRunning.Load(); now > most; most = mostRunning.Load() {
					if mostRunning.CompareAndSwap(most, now) {
						break
					}
				}
				if n == 1 {
					time.Sleep(run) // the others wait for its lease
					return tc.result, nil
				}
				for deadline := time.Now().Add(together); mostRunning.Load() < 2 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				return tc.result, nil
			}
			fns := make([]*Memoized[int, any], procs)
			for i := range fns {
				c, err := New(&Options{Backend: tc.open(t, prefix), Lease: lease})
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				fns[i] = Memoize(c, "unsaved", fn)
			}
			var wg sync.WaitGroup
			took := make([]time.Duration, procs)
			for i, m := range fns {
				wg.Go(func() {
					start := time.Now()
					_, err := m.Get(context.Background(), 1)
					assert.NoError(t, err)
					took[i] = time.Since(start)
				})
			}
			wg.Wait()
			assert.Equal(t, int64(procs), runs.Load(), "each process runs the function")
			assert.GreaterOrEqual(t, mostRunning.Load(), int64(2), "the processes ran it one after another: %v", took)
			assert.Less(t, slices.Max(took), lease/2, "a process waited for the lease's time: %v", took)
		})
	}
}
