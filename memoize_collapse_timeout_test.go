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

// getResult is what a Memoized Get made in a goroutine returned.
type getResult struct {
	v   string
	err error
}

// goGet calls m.Get(a) in a goroutine and returns where its result comes.
func goGet[A any](m *Memoized[A, string], a A) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		v, err := getWithin(m, a)
		ch <- getResult{v, err}
	}()
	return ch
}

// getWithin is m.Get(a) with a context that ends a minute later, so that a
// call that would wait for ever fails its test rather than hang it.
func getWithin[A any](m *Memoized[A, string], a A) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return m.Get(ctx, a)
}

// ready reports whether ch has a result now.
func ready(ch <-chan getResult) (getResult, bool) {
	select {
	case r := <-ch:
		return r, true
	default:
		return getResult{}, false
	}
}

// memoStuckFirst memoizes through c under name a function returning "v"
// whose first call hangs until stuck is closed, counting its calls in n.
func memoStuckFirst(c *Cache, name string, opts ...MemoOption) (m *Memoized[int, string], n *atomic.Int32, stuck chan struct{}) {
	n, stuck = new(atomic.Int32), make(chan struct{})
	m = Memoize(c, name, func(context.Context, int) (string, error) {
		if n.Add(1) == 1 {
			<-stuck
		}
		return "v", nil
	}, opts...)
	return m, n, stuck
}

// TestMemoizeMissTakesOverStuckRefresh: a background refresh that hangs
// (a hung dependency) must not hold the misses of its key once its stale
// window is over: without the cache each of them would have called the
// function. The miss that finds it running for longer than
// DefaultCollapseTimeout computes itself, at once, stores its result, and
// the stuck refresh, ending later, stores nothing over it.
func TestMemoizeMissTakesOverStuckRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var n atomic.Int32
		m := Memoize(c, "stuck-refresh", func(_ context.Context, a int) (string, error) {
			i := n.Add(1)
			if i == 2 {
				<-release // the refresh, stuck
			}
			return fmt.Sprintf("v%d", i), nil
		}, TTL(time.Second), StaleWhileRevalidate(time.Second))
		v, err := getWithin(m, 1)
		require.NoError(t, err)
		require.Equal(t, "v1", v)
		time.Sleep(1500 * time.Millisecond)
		v, err = getWithin(m, 1) // stale: starts the refresh, which sticks
		require.NoError(t, err)
		require.Equal(t, "v1", v)
		synctest.Wait()
		require.EqualValues(t, 2, n.Load(), "the refresh runs, stuck")

		time.Sleep(time.Hour) // past the stale window
		start := time.Now()
		v, err = getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, "v3", v, "the miss computes itself")
		assert.Zero(t, time.Since(start), "without waiting for the stuck refresh")
		assert.EqualValues(t, 3, n.Load())
		st := c.Stats()
		assert.EqualValues(t, 1, st.CollapseTimeouts)
		assert.EqualValues(t, 1, st.CollapseTakeovers)

		v, err = getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, "v3", v, "the taker's result is stored")

		close(release) // the stuck refresh ends, last
		synctest.Wait()
		v, err = getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, "v3", v, "the stuck refresh's older result replaced nothing")
		assert.EqualValues(t, 3, n.Load())
	})
}

// TestMemoizeJoinersTakeOverStuckLeader: the callers that join a
// computation in the foreground that hangs wait for it
// DefaultCollapseTimeout from its start, no longer: one of them then
// computes in its place (the others, and the calls that come since, join
// it: still one computation), and its result is stored; the stuck
// computation, ending later, stores nothing over it. Within the bound
// they wait, as before.
func TestMemoizeJoinersTakeOverStuckLeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		stuck := make(chan struct{})
		taker := make(chan struct{})
		var n atomic.Int32
		m := Memoize(c, "stuck-leader", func(_ context.Context, a int) (string, error) {
			i := n.Add(1)
			switch i {
			case 1:
				<-stuck
			case 2:
				<-taker
			}
			return fmt.Sprintf("v%d", i), nil
		}, TTL(time.Hour))
		leader := goGet(m, 1)
		synctest.Wait()
		require.EqualValues(t, 1, n.Load())
		early := goGet(m, 1)
		time.Sleep(2 * time.Second)
		late := goGet(m, 1)
		time.Sleep(DefaultCollapseTimeout - 2*time.Second - time.Millisecond)
		synctest.Wait()
		_, doneEarly := ready(early)
		_, doneLate := ready(late)
		assert.False(t, doneEarly || doneLate, "within the bound, the joiners wait")
		assert.EqualValues(t, 1, n.Load(), "and compute nothing")
		assert.Zero(t, c.Stats().CollapseTimeouts)

		time.Sleep(time.Millisecond) // the leader's computation is DefaultCollapseTimeout old
		synctest.Wait()
		assert.EqualValues(t, 2, n.Load(), "one joiner computes in its place, once")
		joining := goGet(m, 1) // joins the taker, not the stuck computation
		synctest.Wait()
		assert.EqualValues(t, 2, n.Load())
		close(taker)
		for _, ch := range []<-chan getResult{early, late, joining} {
			r := <-ch
			assert.NoError(t, r.err)
			assert.Equal(t, "v2", r.v)
		}
		assert.EqualValues(t, 2, n.Load())
		st := c.Stats()
		assert.EqualValues(t, 1, st.CollapseTimeouts)
		assert.EqualValues(t, 1, st.CollapseTakeovers)
		r, doneLeader := ready(leader)
		assert.False(t, doneLeader, "the stuck call's own caller waits for it, as without the cache")

		close(stuck)
		if !doneLeader {
			r = <-leader
		}
		assert.NoError(t, r.err)
		assert.Equal(t, "v1", r.v, "the stuck call's caller gets its own result")
		synctest.Wait()
		v, err := getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, "v2", v, "the stuck computation's older result replaced nothing")
		assert.EqualValues(t, 2, n.Load())
	})
}

// TestMemoizeJoinerDeadlineBeforeCollapseTimeout: a joiner whose context
// ends before the computation it joined is DefaultCollapseTimeout old
// returns its context's error then, as before, and counts no collapse
// timeout.
func TestMemoizeJoinerDeadlineBeforeCollapseTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		m, n, stuck := memoStuckFirst(c, "stuck-deadline", TTL(time.Hour))
		defer close(stuck)
		_ = goGet(m, 1)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := m.Get(ctx, 1)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		assert.EqualValues(t, 1, n.Load())
		assert.Zero(t, c.Stats().CollapseTimeouts)
	})
}

// TestMemoizeCollapseTimeoutWithLease: under a Lease, the bound is the
// lease's time plus DefaultCollapseTimeout, as for a refresh's being
// overdue: a joiner waits that long for a computation that may wait the
// lease's time for another process's.
func TestMemoizeCollapseTimeoutWithLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		const lease = 10 * time.Second
		m, n, stuck := memoStuckFirst(c, "stuck-lease", TTL(time.Hour), Lease(lease))
		defer close(stuck)
		_ = goGet(m, 1)
		synctest.Wait()
		joiner := goGet(m, 1)
		time.Sleep(lease + DefaultCollapseTimeout - time.Millisecond)
		synctest.Wait()
		_, done := ready(joiner)
		assert.False(t, done, "within the lease and the bound, the joiner waits")
		time.Sleep(time.Millisecond)
		r := <-joiner
		assert.NoError(t, r.err)
		assert.Equal(t, "v", r.v)
		assert.EqualValues(t, 2, n.Load())
	})
}

// TestMemoizeCollapseTimeoutShorterThanLease: under a Lease longer than
// the function's CollapseTimeout, the joiner that gives up on a stuck
// computation past the CollapseTimeout still waits for the lease that
// computation holds, as another process's caller does, and computes once
// it ends (at most the lease's time from its first look): the lease's one
// computation per key across processes holds. Its callers wait about the
// lease's time, not the CollapseTimeout.
func TestMemoizeCollapseTimeoutShorterThanLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		const lease = 10 * time.Second
		m, n, stuck := memoStuckFirst(c, "stuck-short-collapse", TTL(time.Hour), Lease(lease), CollapseTimeout(2*time.Second))
		defer close(stuck)
		start := time.Now()
		_ = goGet(m, 1)
		synctest.Wait()
		joiner := goGet(m, 1)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.EqualValues(t, 1, c.Stats().CollapseTakeovers, "the joiner takes over past the CollapseTimeout")
		assert.EqualValues(t, 1, n.Load(), "but waits for the stuck computation's lease")
		time.Sleep(lease - 2*time.Second - time.Millisecond)
		synctest.Wait()
		_, done := ready(joiner)
		assert.False(t, done, "within the lease, the taker waits")
		r := <-joiner
		assert.NoError(t, r.err)
		assert.Equal(t, "v", r.v)
		assert.EqualValues(t, 2, n.Load())
		assert.Less(t, time.Since(start), lease+leaseMaxGap, "once the lease ended")
	})
}
