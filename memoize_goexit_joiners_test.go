package caching

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/flight"
)

// TestMemoizeGoexitForChangedArgumentNotHandedToJoiners: as
// TestMemoizePanicForChangedArgumentNotHandedToJoiners, with fn ending by
// runtime.Goexit (t.FailNow, a helper that ends the goroutine) instead of
// a panic. The joiner that came with "alice" and a live ctx got flight's
// ErrGoexit, the outcome of a computation for another argument
// ("mallory"): it computes for its own now.
func TestMemoizeGoexitForChangedArgumentNotHandedToJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var first atomic.Bool
		first.Store(true)
		release := make(chan struct{})
		m := Memoize(c, "outlive-goexit", func(_ context.Context, r *outliveRequest) (string, error) {
			id := r.User.ID
			if first.CompareAndSwap(true, false) {
				<-release
				runtime.Goexit()
			}
			return "profile of " + id, nil
		}, TTL(time.Minute), KeyFunc(func(r *outliveRequest) string { return r.User.ID }))

		req := &outliveRequest{User: &outliveUser{ID: "alice"}}
		got, panicked, err := leaderLeavesJoiner(
			func(ctx context.Context) { _, _ = m.Get(ctx, req) },
			func() (string, error) { return m.Get(t.Context(), &outliveRequest{User: &outliveUser{ID: "alice"}}) },
			func() { req.User = &outliveUser{ID: "mallory"} }, // reused once Get returned
			func() { close(release) },
		)
		require.Nil(t, panicked)
		require.NoError(t, err, "the joiner got the outcome of a computation for a changed argument")
		assert.Equal(t, "profile of alice", got)
	})
}

// TestMemoizeGoexitLeaderGetsError: the caller whose computation called
// runtime.Goexit gets flight's ErrGoexit (its goroutine goes on), and fn
// runs once for it.
func TestMemoizeGoexitLeaderGetsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var calls atomic.Int32
		m := Memoize(c, "goexit-leader", func(_ context.Context, ids []string) (int, error) {
			calls.Add(1)
			runtime.Goexit()
			return 0, nil
		}, TTL(time.Minute))
		_, err = m.Get(t.Context(), []string{"a"})
		require.Error(t, err)
		assert.EqualValues(t, 1, calls.Load())
	})
}

// TestMemoizeGoexitJoinersEachRunAtMostOnce: the callers that joined a
// computation that called runtime.Goexit compute again; with an fn that
// always does, each caller runs it at most once and gets an error.
func TestMemoizeGoexitJoinersEachRunAtMostOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var calls atomic.Int32
		release := make(chan struct{})
		m := Memoize(c, "goexit-joiners", func(_ context.Context, ids []string) (int, error) {
			calls.Add(1)
			<-release
			runtime.Goexit()
			return 0, nil
		}, TTL(time.Minute))
		const callers = 5
		errs := make(chan error, callers)
		for range callers {
			go func() {
				_, err := m.Get(t.Context(), []string{"a"})
				errs <- err
			}()
		}
		synctest.Wait()
		require.EqualValues(t, 1, calls.Load(), "one computation for concurrent callers")
		close(release)
		for range callers {
			assert.Error(t, <-errs)
		}
		assert.LessOrEqual(t, calls.Load(), int32(callers))
	})
}

// TestMemoizeReturnedGoexitErrorSharedWithJoiners: an fn that returns the
// error of a nested memoized Get whose fn called runtime.Goexit (flight's
// ErrGoexit) returned: its computation ran to its end, so the callers that
// joined it get that error as they would any other, unchanged, and fn runs
// once for the concurrent callers. Only a computation that itself ended by
// Goexit is computed again by its joiners.
func TestMemoizeReturnedGoexitErrorSharedWithJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		release := make(chan struct{})
		var innerCalls, outerCalls atomic.Int32
		inner := Memoize(c, "returned-goexit-inner", func(_ context.Context, id string) (int, error) {
			innerCalls.Add(1)
			<-release
			runtime.Goexit()
			return 0, nil
		}, TTL(time.Minute))
		outer := Memoize(c, "returned-goexit-outer", func(ctx context.Context, id string) (int, error) {
			outerCalls.Add(1)
			return inner.Get(ctx, id) // returns, with the inner Goexit's error
		}, TTL(time.Minute))
		const callers = 5
		errs := make(chan error, callers)
		for range callers {
			go func() {
				_, err := outer.Get(t.Context(), "a")
				errs <- err
			}()
		}
		synctest.Wait()
		require.EqualValues(t, 1, outerCalls.Load())
		close(release)
		for range callers {
			assert.ErrorIs(t, <-errs, flight.ErrGoexit, "the error outer fn returned, as it returned it")
		}
		assert.EqualValues(t, 1, outerCalls.Load(), "outer fn returned (an error): its joiners ran it again")
		assert.EqualValues(t, 1, innerCalls.Load())
	})
}
