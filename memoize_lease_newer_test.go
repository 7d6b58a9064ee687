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

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// newerWhileLeased runs, on a and b (two Caches sharing a backend, with a
// lease longer than the scenario), a memoized function's lease holder in
// process A whose function ends within its lease, after process B wrote
// the key's entry while it ran (write, which returns what B stored). It
// returns what A's caller got, what each process's call gets then, and
// the function's runs.
func newerWhileLeased(t *testing.T, a, b *Cache, name string, write func(*Memoized[int, string]) string) (lead, want string, after [2]string, runs int32) {
	t.Helper()
	ctx := context.Background()
	ma, mb, n, gate := gatedMemoPair(a, b, name) // A's holder, within its lease
	var held sync.WaitGroup
	held.Go(func() {
		v, err := ma.Get(ctx, 1)
		assert.NoError(t, err)
		lead = v
	})
	until(t, "A's holder runs the function", func() bool { return n.Load() == 1 })
	want = write(mb)
	close(gate) // A's run ends, last, within its lease
	held.Wait()
	runs = n.Load()
	for i, m := range []*Memoized[int, string]{ma, mb} {
		v, err := m.Get(ctx, 1)
		assert.NoError(t, err)
		after[i] = v
	}
	return lead, want, after, runs
}

// redisLeasePair returns two Caches, as two processes, on the Redis at addr
// under a prefix of their own, with Options.Lease lease.
func redisLeasePair(t *testing.T, addr string, lease time.Duration) (a, b *Cache) {
	t.Helper()
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	open := func() *Cache {
		be, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		require.NoError(t, err)
		c, err := New(&Options{Backend: be, Lease: lease})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		return c
	}
	return open(), open()
}

// newerWrites are the writes of another process that a lease holder must
// not replace: Set's, and Refresh's, neither of which takes the lease.
var newerWrites = []struct {
	name  string
	write func(*testing.T, *Memoized[int, string]) string
	runs  int32
}{
	{"Set", func(t *testing.T, m *Memoized[int, string]) string {
		require.NoError(t, m.Set(context.Background(), 1, "set by B"))
		return "set by B"
	}, 1},
	{"Refresh", func(t *testing.T, m *Memoized[int, string]) string {
		v, err := m.Refresh(context.Background(), 1)
		require.NoError(t, err)
		return v
	}, 2},
}

// TestMemoizeLeaseHolderKeepsNewerEntry: a memoized function's lease
// holder whose function ends within its lease, while another process's Set
// or Refresh stored a newer result, returns its own result to its caller
// but stores nothing over that entry: the lease promises a result no older
// than it. Before, it stored its older result over it, and both processes
// served it for its TTL.
func TestMemoizeLeaseHolderKeepsNewerEntry(t *testing.T) {
	for _, tc := range newerWrites {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := leasePair(t, Options{Lease: time.Hour})
				lead, want, after, runs := newerWhileLeased(t, a, b, "f",
					func(m *Memoized[int, string]) string { return tc.write(t, m) })
				assert.Equal(t, "run 1", lead, "A's caller gets its own result")
				assert.Equal(t, [2]string{want, want}, after, "what processes A and B serve")
				assert.Equal(t, tc.runs, runs)
			})
		})
	}
}

// TestMemoizeLeaseHolderKeepsNewerEntryOnRedis: as
// TestMemoizeLeaseHolderKeepsNewerEntry, with two Caches on a real Redis,
// as two processes.
func TestMemoizeLeaseHolderKeepsNewerEntryOnRedis(t *testing.T) {
	addr := testutil.RedisAddr(t)
	for _, tc := range newerWrites {
		t.Run(tc.name, func(t *testing.T) {
			a, b := redisLeasePair(t, addr, time.Minute)
			lead, want, after, runs := newerWhileLeased(t, a, b, "f",
				func(m *Memoized[int, string]) string { return tc.write(t, m) })
			assert.Equal(t, "run 1", lead, "A's caller gets its own result")
			assert.Equal(t, [2]string{want, want}, after, "A's older result is not stored over B's")
			assert.Equal(t, tc.runs, runs)
		})
	}
}

// TestMemoizeLeaseHolderRefreshWithinStores: a Refresh made from within a
// lease holder's own computation (with the context its function was
// given) stores its result, and the holder, whose result holds that one,
// still stores its own after it, as without a lease: that entry is this
// process's, not a newer one of another's.
func TestMemoizeLeaseHolderRefreshWithinStores(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{Backend: &remote{Backend: newSimple(t, nil)}, Lease: time.Hour})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		var m *Memoized[int, string]
		var n atomic.Int32
		m = Memoize(c, "f", func(ctx context.Context, a int) (string, error) {
			i := n.Add(1)
			if i == 1 {
				inner, err := m.Refresh(ctx, a)
				return "outer after " + inner, err
			}
			return fmt.Sprintf("run %d", i), nil
		})
		v, err := m.Get(context.Background(), 1)
		require.NoError(t, err)
		assert.Equal(t, "outer after run 2", v)
		v, err = m.Get(context.Background(), 1)
		require.NoError(t, err)
		assert.Equal(t, "outer after run 2", v, "the holder's result is stored")
		assert.EqualValues(t, 2, n.Load())
	})
}
