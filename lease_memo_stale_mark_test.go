package caching

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseMemoStaleServedWhileMarkInFlight: a memoized call with a stale
// result (StaleIfError) serves it while the key's lease is held, by
// another process's computation, or by this process's (a lease whose
// release is in flight). When that release sets the "not stored" mark
// (the computation before it failed) and waits for a slow backend, the
// call led instead: it waited for that release (up to the Cache's
// Timeout) and then called the function again, where another process's
// call, which reads the lease still held, serves its stale result at
// once. It now serves it at once too, as a view's request does.
func TestLeaseMemoStaleServedWhileMarkInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newHeldLeaseMarks(t)
		c := leased(b)
		defer c.Close()
		defer b.Unblock()
		var calls atomic.Int32
		m := staleMemo(t, c, failsAfterFirst(&calls))

		// The computation fails: its caller gets the stale result, and
		// the release, which marks the lease, waits for the backend.
		b.armed.Store(true)
		v, err := m.Get(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, "v1", v)
		<-b.entered

		next := goGet(m, 1)
		synctest.Wait()
		r, ok := ready(next)
		if !assert.True(t, ok, "the call with a stale result waited for the release of the lease in flight") {
			b.Unblock()
			r = <-next
		}
		assert.NoError(t, r.err)
		assert.Equal(t, "v1", r.v, "the stale result")
		assert.EqualValues(t, 2, calls.Load(), "the function ran again")
	})
}

// failsAfterFirst is a memoized function whose first call returns "v1"
// and every later one fails, counting its calls in calls.
func failsAfterFirst(calls *atomic.Int32) func(context.Context, int) (string, error) {
	return func(context.Context, int) (string, error) {
		if calls.Add(1) > 1 {
			return "", errors.New("the origin failed")
		}
		return "v1", nil
	}
}

// staleMemo memoizes fn (failsAfterFirst) on c under "f", for a second
// and a stale result (StaleIfError) for an hour, stores its result for 1
// ("v1") and lets that result go stale.
func staleMemo(t *testing.T, c *Cache, fn func(context.Context, int) (string, error)) *Memoized[int, string] {
	t.Helper()
	m := Memoize(c, "f", fn, TTL(time.Second), StaleIfError(time.Hour))
	v, err := m.Get(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "v1", v)
	time.Sleep(2 * time.Second) // v1 is stale
	return m
}
