package caching

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Clear fails with the deletes: a backend that refuses deletes refuses to
// clear too.
func (f *flakyDeletes) Clear(ctx context.Context) error {
	if f.deletesDown.Load() {
		f.trips.Add(1)
		return errDown
	}
	return f.remote.Clear(ctx)
}

// TestInvalidateRetryOverflowNotLost: while the backend is down, a client
// sends writes to as many made-up paths as the retry set holds, and fills
// it. The invalidation of a real write that follows did not fit in the set
// and was dropped: once the backend was back, the response stored before
// that write was served as a hit for the rest of its TTL. Now the retry
// clears the backend's namespace once the backend answers, so that no
// invalidation that did not fit is lost.
func TestInvalidateRetryOverflowNotLost(t *testing.T) {
	e := newWriteEnv(t)
	get(e.mux, "/items/1")
	get(e.mux, "/items/1")
	require.EqualValues(t, 1, e.reads.calls.Load(), "setup: the second read is a hit")

	e.r.fail.Store(true)
	for i := range maxPendingInvalidations {
		send(e.mux, http.MethodPost, fmt.Sprint("/items/junk", i)) // the client
	}
	require.EqualValues(t, maxPendingInvalidations, e.c.Stats().PendingInvalidations, "the set is full")
	send(e.mux, http.MethodPost, "/items/1") // a real change of item 1
	e.r.fail.Store(false)

	require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 10*time.Second, 5*time.Millisecond,
		"the retry ends once the backend answers")
	get(e.mux, "/items/1")
	assert.EqualValues(t, 2, e.reads.calls.Load(),
		"GET /items/1 after the write and the outage was served from the entry stored before the write")
	get(e.mux, "/items/1")
	assert.EqualValues(t, 2, e.reads.calls.Load(), "cached again once the overflow is resolved")
	logs := e.logs.String()
	assert.Equal(t, 1, strings.Count(logs, "retry set full"), "logged once: %s", logs)
	assert.Equal(t, 1, strings.Count(logs, "namespace was cleared"), "logged once: %s", logs)
}

// TestInvalidateRetryOverflowMissesUntilCleared: once an invalidation did
// not fit in the retry set, any entry may be one it ends: while the backend
// answers reads and not deletes (nor the clear), a read of an entry whose
// keys never waited in the set is a miss all the same, for the view and
// Memoize, with a near cache or not. Once the clear has landed, entries are
// cached again.
func TestInvalidateRetryOverflowMissesUntilCleared(t *testing.T) {
	for _, nearCache := range []bool{false, true} {
		t.Run(fmt.Sprint("near=", nearCache), func(t *testing.T) {
			ctx := context.Background()
			e := newPendingEnv(t, nearCache)
			e.data.Store(1)
			readView(ctx, t, e)
			readMemo(ctx, t, e)
			_, hit := readView(ctx, t, e)
			require.True(t, hit, "setup: a view hit")
			_, hit = readMemo(ctx, t, e)
			require.True(t, hit, "setup: a memoized hit")

			e.r.deletesDown.Store(true)
			for i := range maxPendingInvalidations + 1 {
				send(e.mux, http.MethodPost, fmt.Sprint("/items/junk", i))
			}
			require.EqualValues(t, maxPendingInvalidations, e.c.Stats().PendingInvalidations, "the set is full")

			v, hit := readView(ctx, t, e)
			assert.False(t, hit, "a view hit while an invalidation that did not fit waits")
			assert.EqualValues(t, 1, v)
			v, hit = readMemo(ctx, t, e)
			assert.False(t, hit, "a memoized hit while an invalidation that did not fit waits")
			assert.EqualValues(t, 1, v)

			e.r.deletesDown.Store(false)
			require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 10*time.Second, time.Millisecond)
			readView(ctx, t, e)
			_, hit = readView(ctx, t, e)
			assert.True(t, hit, "view entries are cached again once cleared")
			readMemo(ctx, t, e)
			_, hit = readMemo(ctx, t, e)
			assert.True(t, hit, "memoized entries are cached again once cleared")
		})
	}
}

// TestInvalidateRetryOverflowEndsWaiters: a run of a view's handler that
// began before an invalidation did not fit in the retry set is not handed
// to its waiters, whatever keys they wait for (the one that did not fit
// may be theirs); until then, nothing is.
func TestInvalidateRetryOverflowEndsWaiters(t *testing.T) {
	r := &remote{Backend: newSimple(t, nil)}
	c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}})
	t.Cleanup(func() { c.Close() })
	p := &c.store.pending
	before := p.since()
	keys := []string{"p/items/1"}
	r.fail.Store(true)
	for i := range maxPendingInvalidations {
		c.retryInvalidation("test", []string{fmt.Sprint("p/junk", i)}, errDown)
	}
	assert.False(t, p.addedSince(before, keys), "no key of the run was added, and all fit")
	mid := p.since()
	c.retryInvalidation("test", []string{"p/items/2"}, errDown) // does not fit
	assert.True(t, p.addedSince(before, keys), "a run begun before the overflow")
	assert.True(t, p.addedSince(mid, keys), "a run begun before the overflow")
	m := p.mark()
	require.NotZero(t, m)
	assert.True(t, p.ends(m, "v/items/3", nil), "any entry, while the overflow waits for its clear")
}
