package caching

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// ownMarkRun is the scene of TestLeaseOwnMarkRunsTheNextMissAtOnce: process
// A's run of /p is not stored (a 500), and marks the lease "not stored".
// Then B misses /p, and A misses it again, after its run ended, while the
// mark lives. bubble says whether the scene runs in a synctest bubble (the
// time A's second miss took is then exact).
func ownMarkRun(t *testing.T, open func(t *testing.T) backend.Backend, bubble bool) {
	shared := open(t)
	newCache := func() (*Cache, *leaseReads) {
		b := &leaseReads{Backend: &remote{Backend: shared}}
		c := Must(&Options{Backend: b, Lease: time.Hour, Timeout: 10 * time.Second})
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		return c, b
	}
	a, aReads := newCache()
	b, bReads := newCache()
	h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }}
	va, vb := a.Cached(time.Hour)(h), b.Cached(time.Hour)(h)

	require.Equal(t, http.StatusInternalServerError, get(va, "/p").Code)
	a.background.wait() // its release, made after the response
	require.EqualValues(t, 1, a.Stats().Leases)
	// On a real server, the scene needs the mark (1 s) to outlive its
	// steps: a machine that stalled past it skips the test.
	alive := ownMarkAlive(t, a, ownedKey(t, a), bubble)
	stalled := func() {
		t.Helper()
		if !bubble && !alive() {
			t.Skip("the machine stalled past the mark's life: a read may have found it gone")
		}
	}

	// Another process's miss waits as before: it reads the mark, and runs.
	require.Equal(t, http.StatusInternalServerError, get(vb, "/p").Code)
	stalled()
	assert.EqualValues(t, 1, b.Stats().LeaseWaits, "B waits for the lease, and reads its mark")
	assert.EqualValues(t, 1, bReads.n.Load(), "B's one read of the lease")

	// A's own next miss: its mark is no run to wait for, nor a lease to
	// take over. One read (no poll) finds it still there: A runs at once,
	// without the lease, and writes nothing.
	start := time.Now()
	require.Equal(t, http.StatusInternalServerError, get(va, "/p").Code)
	stalled()
	if bubble {
		assert.Zero(t, time.Since(start), "A's second miss waited (the bubble's clock: exact)")
	}
	assert.Zero(t, a.Stats().LeaseWaits, "A waited for its own mark")
	assert.EqualValues(t, 1, aReads.n.Load(), "A's one read of its own mark")
	assert.EqualValues(t, 1, a.Stats().Leases, "A took its own mark over as a lease")
	assert.EqualValues(t, 3, h.calls.Load())
	a.background.wait()

	// A's mark still lives: B still reads it and runs.
	require.Equal(t, http.StatusInternalServerError, get(vb, "/p").Code)
	stalled()
	assert.EqualValues(t, 2, b.Stats().LeaseWaits)
	assert.EqualValues(t, 4, h.calls.Load())
}

// TestLeaseOwnMarkRunsTheNextMissAtOnce: a run whose response is not stored
// marks the lease "not stored", for the other processes' waiters to run at
// once. The same process's next miss of the key, made after that run
// ended, failed its Add on its own mark, counted a lease wait and read the
// lease after a poll (~2 ms) before it ran. The mark is this process's
// while it lives (ownedLeases): that miss reads it once, without the wait,
// and runs at once without the lease, as the other processes' misses that
// read it do. It is not taken over: set over, it would overwrite another
// process's lease if the mark ended early (memcached: see
// TestLeaseOwnMarkEndedEarlyIsNotTakenOver).
func TestLeaseOwnMarkRunsTheNextMissAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ownMarkRun(t, func(t *testing.T) backend.Backend { return newSimple(t, nil) }, true)
	})
}

// TestLeaseOwnMarkRunsTheNextMissAtOnceRedis is the same on a real Redis.
func TestLeaseOwnMarkRunsTheNextMissAtOnceRedis(t *testing.T) {
	ownMarkRun(t, func(t *testing.T) backend.Backend {
		s, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: fmt.Sprint("rlease-own-mark-", time.Now().UnixNano())})
		require.NoError(t, err)
		return s
	}, false)
}
