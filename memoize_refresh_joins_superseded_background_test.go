package caching

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestMemoizeRefreshJoiningSupersededBackgroundRefreshReturnsAfterWrite: a
// Refresh (R2) made after an update joins a background refresh (a stale
// hit's, StaleIf within StaleWhileRevalidate) begun between R2's
// supersede and its computation; a later Set (or Forget) of the argument
// supersedes that refresh while its fn runs, and its write is in progress
// when the refresh's fn returns. The refresh, not a replacement, stored
// nothing and did not wait, and R2 returned its result, as replacing the
// entry, while the entry of before R2 ("old") was still served, until the
// later write landed: the order e1ca3e9 made for a Refresh's own
// computation (TestMemoizeSupersededRefreshStores), broken where the
// Refresh joined a background refresh.
func TestMemoizeRefreshJoiningSupersededBackgroundRefreshReturnsAfterWrite(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, later := range []struct {
				name string
				del  bool
				do   func(ctx context.Context, env *setOrderEnv) error
				want string
			}{
				{"Set", false, func(ctx context.Context, env *setOrderEnv) error { return env.m.Set(ctx, 1, "set") }, "set"},
				{"Forget", true, func(ctx context.Context, env *setOrderEnv) error { return env.m.Forget(ctx, 1) }, ""},
			} {
				t.Run(later.name, func(t *testing.T) {
					ctx := context.Background()
					env, bg, done, got := startRefreshJoiningBackground(t, st.open)
					// The later call supersedes the refresh; its write is held.
					inWrite, releaseWrite := holdWrite(env, later.del)
					laterDone := make(chan error, 1)
					go func() { laterDone <- later.do(ctx, env) }()
					<-inWrite
					close(bg.release)
					awaitFirstAfter(t, env, done, close1(releaseWrite),
						"R2 returned while the later "+later.name+"'s write was in progress")
					assert.Equal(t, "new", got.Load())
					require.NoError(t, <-laterDone)
					assertPeek(t, env, later.want, "the later "+later.name+" wins")
				})
			}
		})
	}
}

// TestMemoizeRefreshJoiningSupersededBackgroundRefreshSetRefused: as
// above, but the later Set's store is refused by the backend. Set removes
// the entry where it superseded a replacement that has not stored (its
// store failing must not leave the entry of before that one served), but
// the background refresh R2 joined was no replacement (not pending,
// memoShared.owed): Set removed nothing and returned its error, the
// refresh, superseded, stored nothing, and R2 returned its new result with
// the entry of before it ("old") served for good.
func TestMemoizeRefreshJoiningSupersededBackgroundRefreshSetRefused(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			env, bg, done, got := startRefreshJoiningBackground(t, st.open)
			refused := errors.New("OOM command not allowed when used memory > 'maxmemory'")
			env.h.on(env.key, func(func() error) error {
				env.h.off()
				return refused
			})
			require.ErrorIs(t, env.m.Set(ctx, 1, "set"), refused)
			close(bg.release)
			require.NoError(t, <-done)
			assert.Equal(t, "new", got.Load())
			assertPeek(t, env, "", "R2 returned its result, and the entry of before it is served: %q")
		})
	}
}

// startRefreshJoiningBackground makes a Refresh (R2) after an update whose
// supersede is followed by a stale hit's background refresh, held (bg),
// which R2 joins; R2's result comes on done.
func startRefreshJoiningBackground(t *testing.T, open func(t *testing.T, h *setHook) backend.Backend) (env *setOrderEnv, bg *heldCall, done chan error, got *atomic.Value) {
	t.Helper()
	ctx := context.Background()
	var stale atomic.Bool
	env, next, _ := newSupersededEnv(t, open, "new", StaleWhileRevalidate(time.Hour),
		StaleIf(func(v string) bool { return stale.Load() && v == "old" }))

	// R2 supersedes; before it computes, a hit serves the entry stale and
	// starts a background refresh, held, which R2 joins.
	bg = newHeldCall(false)
	var hooked atomic.Bool
	refreshSupersededHook = func(k string) {
		if k != env.key || !hooked.CompareAndSwap(false, true) {
			return
		}
		next(bg)
		stale.Store(true)
		v, err := env.m.Get(ctx, 1)
		stale.Store(false)
		assert.NoError(t, err)
		assert.Equal(t, "old", v, "served stale, with a refresh started")
		<-bg.entered
	}
	t.Cleanup(func() { refreshSupersededHook = nil })
	done, got = make(chan error, 1), new(atomic.Value)
	go func() {
		v, err := env.m.Refresh(ctx, 1)
		got.Store(v)
		done <- err
	}()
	// Polled: nothing else tells a join; the deadline is generous.
	for deadline := time.Now().Add(10 * time.Second); env.m.calls.Waiters(env.key) < 2; {
		require.True(t, time.Now().Before(deadline), "R2 did not join the background refresh")
		runtime.Gosched()
	}
	return env, bg, done, got
}
