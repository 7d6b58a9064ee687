package caching

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// readFailing is remote whose reads (Get, GetMany) fail while failReads is
// set, and counts them in reads: a look that fails, the writes unharmed.
type readFailing struct {
	*remote
	failReads atomic.Bool
	reads     atomic.Int64
}

func (r *readFailing) Get(ctx context.Context, key string) ([]byte, error) {
	r.reads.Add(1)
	if r.failReads.Load() {
		return nil, errDown
	}
	return r.remote.Get(ctx, key)
}

func (r *readFailing) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	r.reads.Add(1)
	if r.failReads.Load() {
		return nil, errDown
	}
	return r.remote.GetMany(ctx, keys)
}

// gatedMemoPair memoizes under name, on a and b, a function whose i-th
// call returns "run i", counted in n, the first once gate is closed.
func gatedMemoPair(a, b *Cache, name string) (ma, mb *Memoized[int, string], n *atomic.Int32, gate chan struct{}) {
	n, gate = new(atomic.Int32), make(chan struct{})
	fn := func(context.Context, int) (string, error) {
		i := n.Add(1)
		if i == 1 {
			<-gate
		}
		return fmt.Sprintf("run %d", i), nil
	}
	return Memoize(a, name, fn), Memoize(b, name, fn), n, gate
}

// stuckMemoLeaseHolder runs, on a and b (two Caches sharing a backend,
// with a lease), the scenario of a memoized function's lease holder stuck
// past its lease: process A's call leads under the lease, its function
// stuck, with a caller of A joined; process B's call waits out the lease,
// then computes and stores its own result ("run 2"). A's function then
// returns ("run 1"); failLook (nil: none) is set meanwhile, so that its
// look past the lease fails. It returns what A's
// leader and joiner got, what each process's call gets then, and the
// function's runs.
func stuckMemoLeaseHolder(t *testing.T, a, b *Cache, name string, failLook *atomic.Bool) (lead, joined string, after [2]string, runs int32) {
	t.Helper()
	ctx := context.Background()
	ma, mb, n, gate := gatedMemoPair(a, b, name) // A's leader, stuck past its lease
	var stuck sync.WaitGroup
	stuck.Go(func() {
		v, err := ma.Get(ctx, 1)
		assert.NoError(t, err)
		lead = v
	})
	until(t, "A's leader runs the function", func() bool { return n.Load() == 1 })
	key, err := ma.Key(1)
	require.NoError(t, err)
	stuck.Go(func() {
		v, err := ma.Get(ctx, 1)
		assert.NoError(t, err)
		joined = v
	})
	until(t, "A's second caller joins A's leader", func() bool { return ma.calls.Waiters(key) == 2 })
	v, err := mb.Get(ctx, 1) // waits out the lease, then computes and stores
	require.NoError(t, err)
	require.Equal(t, "run 2", v, "B's call ran past A's lease")
	if failLook != nil {
		failLook.Store(true)
	}
	close(gate) // A's stuck run ends, last
	stuck.Wait()
	if failLook != nil {
		failLook.Store(false)
	}
	runs = n.Load()
	for i, m := range []*Memoized[int, string]{ma, mb} {
		v, err := m.Get(ctx, 1)
		assert.NoError(t, err)
		after[i] = v
	}
	return lead, joined, after, runs
}

// TestMemoizeLeaseHolderPastItsLeaseStoresNothingOverNewerEntry: a memoized
// function's lease holder that ran past its lease, while another process's
// caller computed and stored a newer result, returns its own result to its
// caller and the callers that joined it, but stores nothing over that
// entry (as a view's holder, view.newerSinceLease). Before, it stored its
// older result over it: both processes then served "run 1" for its TTL.
// A look that fails writes as before.
func TestMemoizeLeaseHolderPastItsLeaseStoresNothingOverNewerEntry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lookFail bool
		want     string // what both processes serve after A's run ended
	}{
		{"newer entry kept", false, "run 2"},
		{"look failed: written as before", true, "run 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &readFailing{remote: &remote{Backend: newSimple(t, nil)}}
				open := func() *Cache {
					c, err := New(&Options{Backend: s, Lease: time.Second})
					require.NoError(t, err)
					t.Cleanup(func() { c.Close() })
					return c
				}
				a, b := open(), open()
				var failLook *atomic.Bool
				if tc.lookFail {
					failLook = &s.failReads
				}
				lead, joined, after, runs := stuckMemoLeaseHolder(t, a, b, "f", failLook)
				assert.Equal(t, "run 1", lead, "A's caller gets its own result")
				assert.Equal(t, "run 1", joined, "as does the caller that joined it")
				assert.Equal(t, [2]string{tc.want, tc.want}, after, "what processes A and B serve")
				assert.EqualValues(t, 2, runs)
			})
		})
	}
}

// TestStuckMemoizeLeaseHolderOnRedis: as
// TestMemoizeLeaseHolderPastItsLeaseStoresNothingOverNewerEntry, with two
// Caches on a real Redis, as two processes.
func TestStuckMemoizeLeaseHolderOnRedis(t *testing.T) {
	addr := testutil.RedisAddr(t)
	a, b := redisLeasePair(t, addr, 500*time.Millisecond)
	lead, joined, after, runs := stuckMemoLeaseHolder(t, a, b, "f", nil)
	assert.Equal(t, "run 1", lead, "A's caller gets its own result")
	assert.Equal(t, "run 1", joined, "as does the caller that joined it")
	assert.Equal(t, [2]string{"run 2", "run 2"}, after, "A's older result is not stored over B's")
	assert.EqualValues(t, 2, runs)
}

// TestMemoizeLeaseHolderLooksOnceBeforeItsWrite: a computation under a
// lease makes one look before its write (Memoized.storedSinceLease: another
// process may have stored a newer result while it ran), within its lease's
// time too; a hit pays nothing for the lease.
func TestMemoizeLeaseHolderLooksOnceBeforeItsWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &readFailing{remote: &remote{Backend: newSimple(t, nil)}}
		c, err := New(&Options{Backend: s, Lease: time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		var reads int64
		m := Memoize(c, "f", func(context.Context, int) (string, error) {
			reads = s.reads.Load()
			return "run", nil
		})
		v, err := m.Get(context.Background(), 1)
		require.NoError(t, err)
		assert.Equal(t, "run", v)
		assert.Equal(t, reads+1, s.reads.Load(), "reads once the function returned")
		assert.EqualValues(t, 1, c.Stats().Leases)
		reads = s.reads.Load()
		v, err = m.Get(context.Background(), 1)
		require.NoError(t, err)
		assert.Equal(t, "run", v)
		assert.Equal(t, reads+1, s.reads.Load(), "a hit reads its entry, no more")
	})
}
