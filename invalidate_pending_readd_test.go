package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookDeletes is a remote backend whose deletes hook replaces, when set.
type hookDeletes struct {
	*remote
	hook atomic.Pointer[func(ctx context.Context, keys ...string) error]
}

func (h *hookDeletes) Delete(ctx context.Context, keys ...string) error {
	if f := h.hook.Load(); f != nil {
		return (*f)(ctx, keys...)
	}
	return h.remote.Delete(ctx, keys...)
}

// A key that waits in the retry set and fails again (a second write's
// invalidation) while the retry's delete of it is in flight, after that
// delete landed, stays in the set when the retry returns: the second
// write's invalidation is retried too, and what was stored between the
// retry's delete and the second write is not served (it was a HIT of the
// value from before the second write until its TTL, and the set read 0).
func TestPendingReaddedDuringRetryIsRetried(t *testing.T) {
	ctx := context.Background()
	r := &hookDeletes{remote: &remote{Backend: newSimple(t, nil)}}
	c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}})
	t.Cleanup(func() { c.Close() })

	require.NoError(t, c.Set(ctx, "price", []byte("1"), time.Hour, Tags("prices")))

	down := func(context.Context, ...string) error { return errDown }
	r.hook.Store(&down)
	require.Error(t, c.InvalidateTags(ctx, "prices")) // write #1 (data 2): pending
	require.EqualValues(t, 1, c.Stats().PendingInvalidations)

	landed, resume := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	phase2 := func(ctx context.Context, keys ...string) error {
		if calls.Add(1) == 1 { // the retry's delete: lands, answers later
			err := r.remote.Delete(ctx, keys...)
			close(landed)
			<-resume
			return err
		}
		return errDown // write #2's invalidation fails
	}
	r.hook.Store(&phase2)
	<-landed

	// A reader after write #1 stores data 2 under a new version.
	_, err := c.Get(ctx, "price")
	require.Error(t, err)
	require.NoError(t, c.Set(ctx, "price", []byte("2"), time.Hour, Tags("prices")))
	// Write #2 (data 3): its invalidation fails, the key is already pending.
	require.Error(t, c.InvalidateTags(ctx, "prices"))
	require.EqualValues(t, 1, c.Stats().PendingInvalidations)
	r.hook.Store(nil) // deletes work again: write #2's retry can land
	close(resume)
	require.Eventually(t, func() bool { return c.Stats().PendingInvalidations == 0 }, 5*time.Second, time.Millisecond,
		"write #2's invalidation is never retried")
	b, err := c.Get(ctx, "price")
	assert.Error(t, err, "after write #2's invalidation failed, the value from before it (%q) is served as a hit, and nothing retries", b)
}
