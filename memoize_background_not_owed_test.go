package caching

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeUnjoinedBackgroundRefreshIsOwedNothing: a stale hit's
// background refresh that no Refresh or forced Get joined (none was made
// while it ran) was pending as a replacement (889c4a7), so a later
// Refresh whose fn failed, or a Set whose store the backend refused,
// found it owed an entry and removed the one stored: a miss, and the
// stale-while-revalidate fallback lost for the argument, where before
// 889c4a7 the entry was kept. Nobody returns that refresh's result as
// replacing the entry: the entry is kept, and the refresh then decides as
// a superseded replacement does (it stores while no later call has
// written).
func TestMemoizeUnjoinedBackgroundRefreshIsOwedNothing(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, later := range []struct {
				name string
				do   func(ctx context.Context, env *setOrderEnv, next func(*heldCall)) error
				err  error
				want string // stored once the refresh has ended
			}{
				{"Refresh fails", refreshFailing, errDBTimeout, "new"},
				{"Set refused", func(ctx context.Context, env *setOrderEnv, _ func(*heldCall)) error {
					env.h.on(env.key, func(func() error) error {
						env.h.off()
						return errRefusedWrite
					})
					return env.m.Set(ctx, 1, "set")
				}, errRefusedWrite, "old"},
			} {
				t.Run(later.name, func(t *testing.T) {
					ctx := context.Background()
					var stale atomic.Bool
					env, next, _ := newSupersededEnv(t, st.open, "new", staleWhile(&stale, "old")...)
					bg := startHeldBackground(t, env, next, &stale)
					require.ErrorIs(t, later.do(ctx, env, next), later.err)
					assertPeek(t, env, "old", "the failed "+later.name+" removed the entry that only an unjoined background refresh was to replace")
					close(bg.release)
					awaitBackgroundDone(t, env)
					assertPeek(t, env, later.want, "once the background refresh has ended")
				})
			}
		})
	}
}

// errRefusedWrite is a backend's refusal of a write (Redis's, under
// maxmemory with noeviction).
var errRefusedWrite = errors.New("OOM command not allowed when used memory > 'maxmemory'")

// TestMemoizeReplacementSupersededByForgetAllIsOwedNothing: a Refresh
// (R1) still computing when a ForgetAll came stores nothing (ForgetAll's
// delete of the generation removed the entry it was to replace); a Get
// after the ForgetAll stored a fresh entry; a later Refresh (R2) whose fn
// failed found R1 pending, begun before it and after the last store of
// the key's epoch, and removed that fresh entry: a miss. A replacement
// begun before a ForgetAll is owed nothing.
func TestMemoizeReplacementSupersededByForgetAllIsOwedNothing(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			env, next, r1 := newSupersededEnv(t, st.open, "new")
			done, got := startRefresh(env, next, r1)
			require.NoError(t, env.m.ForgetAll(ctx))
			env.data.Store("fresh")
			v, err := env.m.Get(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, "fresh", v, "a Get after ForgetAll computes")
			assertPeek(t, env, "fresh", "the Get's miss stores")

			require.ErrorIs(t, refreshFailing(ctx, env, next), errDBTimeout)
			assertPeek(t, env, "fresh", "the failed Refresh removed the entry a Get stored after ForgetAll")

			close(r1.release)
			require.NoError(t, <-done)
			assert.Equal(t, "new", got.Load())
			assertPeek(t, env, "fresh", "R1, superseded by ForgetAll, stores nothing")
		})
	}
}
