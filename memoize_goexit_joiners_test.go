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
