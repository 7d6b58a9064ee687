package caching

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseMemoStaleOwnMarkReadOnce: a memoized call with a stale result
// (StaleIfError) on this process's own live "not stored" mark reads the
// lease once: its look (leaseHeld), which finds it marked, not held, is
// its run's look too, which read it a second time at once. The call
// still calls the function, without the lease, and serves its stale
// result when that fails.
func TestLeaseMemoStaleOwnMarkReadOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { memoStaleOwnMarkReadOnce(t, newSimple(t, nil)) })
}

// TestLeaseMemoStaleOwnMarkReadOnceServers is the same on a real Redis
// and memcached, whose mark may end early: its look then reads the lease
// free, which its run takes, and leads under it (one read still).
func TestLeaseMemoStaleOwnMarkReadOnceServers(t *testing.T) {
	prefix := fmt.Sprint("rlease-memo-own-mark-", time.Now().UnixNano())
	t.Run("redis", func(t *testing.T) {
		s, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: prefix})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		memoStaleOwnMarkReadOnce(t, s)
	})
	t.Run("memcached", func(t *testing.T) {
		s, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: prefix, Timeout: testutil.SlowTimeout})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		memoStaleOwnMarkReadOnce(t, s)
	})
}

// memoStaleOwnMarkReadOnce is TestLeaseMemoStaleOwnMarkReadOnce on s.
func memoStaleOwnMarkReadOnce(t *testing.T, s backend.Backend) {
	b := &leaseReads{Backend: &remote{Backend: s}}
	c, m, calls := staleOwnMark(t, b)
	defer c.Close()

	before := b.n.Load()
	v, err := m.Get(context.Background(), 1)
	require.NoError(t, err)
	assert.Equal(t, "v1", v, "the stale result")
	assert.EqualValues(t, 3, calls.Load(), "the function ran on the mark")
	assert.EqualValues(t, 1, b.n.Load()-before, "reads of the lease")
	assert.Zero(t, c.Stats().LeaseWaits)
}

// staleOwnMark makes a Cache on b, with a minute's lease, and on it
// staleMemo of failsAfterFirst (its calls counted in calls), whose call
// for 1 then fails: the stale result answers, and the release marks the
// lease "not stored" (kept as this process's). The caller closes c.
func staleOwnMark(t *testing.T, b backend.Backend) (c *Cache, m *Memoized[int, string], calls *atomic.Int32) {
	t.Helper()
	c = Must(&Options{Backend: b, Lease: time.Minute, Timeout: time.Hour})
	calls = new(atomic.Int32)
	m = staleMemo(t, c, failsAfterFirst(calls))
	v, err := m.Get(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "v1", v)
	c.background.wait()
	require.EqualValues(t, 2, calls.Load())
	return c, m, calls
}
