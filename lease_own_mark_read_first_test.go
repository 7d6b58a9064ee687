package caching

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/testutil"
)

// leaseCalls is a backend that counts the Adds and the Gets of lease keys;
// added is the lease key of the last Add.
type leaseCalls struct {
	backend.Backend
	adds, reads atomic.Int64
	added       atomic.Value
}

func (b *leaseCalls) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if strings.Contains(key, kindLease) {
		b.adds.Add(1)
		b.added.Store(key)
	}
	return b.Backend.Add(ctx, key, v, ttl)
}

func (b *leaseCalls) Get(ctx context.Context, key string) ([]byte, error) {
	if strings.Contains(key, kindLease) {
		b.reads.Add(1)
	}
	return b.Backend.Get(ctx, key)
}

// reset zeroes the counts.
func (b *leaseCalls) reset() { b.adds.Store(0); b.reads.Store(0) }

// ownMarkAlive requires c to keep its "not stored" mark lk alive
// (ownedLeases), and returns a func that reports whether that mark surely
// still lives on the backend: the backend started it when its Set reached
// it, after the Set was sent, so it lives at least until its end here (as
// ownedLease.kept tells it). A test on a real server reads it after a step
// that needs the mark, to tell a machine that stalled past the mark's
// second (which then found it gone) from a failure.
//
// Outside a bubble (bubble false), a mark recorded but ended by the time
// it is looked at skips the test: the machine stalled past its second
// between the release and this look.
func ownMarkAlive(t *testing.T, c *Cache, lk string, bubble bool) func() bool {
	t.Helper()
	c.owned.mu.Lock()
	r := c.owned.m[lk]
	c.owned.mu.Unlock()
	require.True(t, r != nil && r.l.mark, "the mark is not recorded as this process's")
	if !bubble && !r.kept(c.store.clears.Load()) {
		t.Skip("the machine stalled past the mark's life before it was looked at")
	}
	require.True(t, r.kept(c.store.clears.Load()), "the mark is not kept as this process's")
	end, margin := r.l.end, r.l.margin
	return func() bool { return boottime.Until(end) > margin }
}

// ownedKey returns the key of the one lease or mark c keeps (ownedLeases).
func ownedKey(t *testing.T, c *Cache) string {
	t.Helper()
	c.owned.mu.Lock()
	defer c.owned.mu.Unlock()
	require.Len(t, c.owned.m, 1)
	for lk := range c.owned.m {
		return lk
	}
	return ""
}

// ownMarkReadFirst is the scene of TestLeaseOwnMarkIsReadBeforeAnyAdd: a
// process's run (a view's, or a memoized function's) is not stored, and
// marks the lease "not stored"; then the same process misses the key
// again while the mark lives. miss makes one miss and reports the runs of
// the work so far. bubble says whether the scene runs in a synctest bubble
// (else, on a real server, a machine that stalled past the mark's second
// skips the test rather than fail it).
func ownMarkReadFirst(t *testing.T, shared backend.Backend, bubble bool, miss func(t *testing.T, c *Cache) int64) {
	calls := &leaseCalls{Backend: &remote{Backend: shared}}
	c := Must(&Options{Backend: calls, Lease: time.Hour, Timeout: 10 * time.Second})
	t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })

	require.EqualValues(t, 1, miss(t, c))
	c.background.wait() // its release, the mark, made after the answer
	require.EqualValues(t, 1, c.Stats().Leases)
	require.EqualValues(t, 1, calls.adds.Load())
	lk := calls.added.Load().(string)
	alive := ownMarkAlive(t, c, lk, bubble)

	// The next miss: the mark is this process's, and known to live. Its
	// one read of the lease finds it there, and the work runs at once,
	// without the lease: an Add first, refused by that very mark, was a
	// round trip for nothing.
	calls.reset()
	require.EqualValues(t, 2, miss(t, c))
	if !bubble && !alive() {
		t.Skip("the machine stalled past the mark's life: its read may have found it gone")
	}
	assert.Zero(t, calls.adds.Load(), "the miss added the lease over its own live mark")
	assert.EqualValues(t, 1, calls.reads.Load(), "the miss's reads of the lease")
	assert.Zero(t, c.Stats().LeaseWaits, "the miss waited for its own mark")
	assert.EqualValues(t, 1, c.Stats().Leases, "the miss took a lease")
	c.background.wait()

	// The mark gone before its time (memcached may end a 1 s item within
	// a tick; an eviction): the read finds no lease, the mark is
	// forgotten, and the miss adds the lease and leads, as before.
	require.NoError(t, shared.Delete(context.Background(), lk))
	calls.reset()
	require.EqualValues(t, 3, miss(t, c))
	assert.EqualValues(t, 1, calls.adds.Load(), "the miss's Adds of the lease once its mark was gone")
	assert.EqualValues(t, 2, c.Stats().Leases, "the miss did not lead under the lease")
	assert.Zero(t, c.Stats().LeaseWaits)
}

// ownMarkMisses are the two kinds of work of ownMarkReadFirst, each
// failing: a view's handler that answers 500, and a memoized function
// that returns an error.
var ownMarkMisses = map[string]func() func(t *testing.T, c *Cache) int64{
	"view": func() func(t *testing.T, c *Cache) int64 {
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }}
		var v http.Handler
		return func(t *testing.T, c *Cache) int64 {
			if v == nil {
				v = c.Cached(time.Hour)(h)
			}
			require.Equal(t, http.StatusInternalServerError, get(v, "/p").Code)
			return h.calls.Load()
		}
	},
	"memoized": func() func(t *testing.T, c *Cache) int64 {
		var runs atomic.Int64
		errFailed := errors.New("failed")
		var m *Memoized[int, int]
		return func(t *testing.T, c *Cache) int64 {
			if m == nil {
				m = Memoize(c, "f", func(context.Context, int) (int, error) { runs.Add(1); return 0, errFailed })
			}
			_, err := m.Get(t.Context(), 1)
			require.ErrorIs(t, err, errFailed)
			return runs.Load()
		}
	},
}

// TestLeaseOwnMarkIsReadBeforeAnyAdd: a run whose result is not stored
// marks the lease "not stored", and this process keeps the mark while it
// lives (ownedLeases). Its next miss of the key added the lease first,
// which the mark refused, then found the mark its own and read the lease:
// two round trips, the Add for nothing. It now reads the lease first, one
// round trip: still marked, the work runs at once without the lease, as
// before; gone, the mark is forgotten and the lease added.
func TestLeaseOwnMarkIsReadBeforeAnyAdd(t *testing.T) {
	for name, miss := range ownMarkMisses {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ownMarkReadFirst(t, newSimple(t, nil), true, miss())
			})
		})
	}
}

// TestLeaseOwnMarkIsReadBeforeAnyAddRedis is the same on a real Redis.
func TestLeaseOwnMarkIsReadBeforeAnyAddRedis(t *testing.T) {
	for name, miss := range ownMarkMisses {
		t.Run(name, func(t *testing.T) {
			s, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: fmt.Sprint("rlease-own-mark-first-", time.Now().UnixNano())})
			require.NoError(t, err)
			ownMarkReadFirst(t, s, false, miss())
		})
	}
}
