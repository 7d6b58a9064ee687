package caching

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMemoizeSeekerLeadingAfterAJoinedMissIsNotOwedABackgroundRefresh is
// TestMemoizeBackgroundRefreshNotOwedToALeadingSeeker's "before fn" case
// for a Refresh (R1) that leads through the rejoin loop
// (doSinceRejoining's Lead): it first joins a Get's miss begun after its
// supersede, whose result did not replace the entry, and then leads a
// computation of its own, which no other call joins. A Set and a stale
// hit's background refresh made between that lead and R1's computation's
// start (seekerLeadsHook) find R1 no longer seeking: the refresh, which R1
// can no longer join, is owed nothing, and a later Refresh whose fn fails
// keeps the entry R1's computation stored.
func TestMemoizeSeekerLeadingAfterAJoinedMissIsNotOwedABackgroundRefresh(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			var stale atomic.Bool
			env, next, _ := newSupersededEnv(t, st.open, "new", staleWhile(&stale, "set")...)
			require.NoError(t, env.m.Forget(ctx, 1))

			// A Get's miss, begun after R1's supersede and held, which R1
			// joins.
			miss := newHeldCall(false)
			missDone := make(chan error, 1)
			var inSupersede atomic.Bool
			refreshSupersededHook = func(k string) {
				if k != env.key || !inSupersede.CompareAndSwap(false, true) {
					return
				}
				next(miss)
				go func() {
					_, err := env.m.Get(ctx, 1)
					missDone <- err
				}()
				<-miss.entered
			}
			t.Cleanup(func() { refreshSupersededHook = nil })
			inWindow, leave := holdSeekerLead(t, env)
			done, got := goSeeker(env, func(env *setOrderEnv) (string, error) { return env.m.Refresh(ctx, 1) })
			for deadline := time.Now().Add(10 * time.Second); env.m.calls.Waiters(env.key) < 2; runtime.Gosched() {
				require.True(t, time.Now().Before(deadline), "R1 did not join the Get's miss")
			}
			close(miss.release)
			require.NoError(t, <-missDone)
			<-inWindow // R1 leads its own computation, not started yet

			// A Set made meanwhile stores "set" (and forgets R1's
			// computation); a stale hit of it starts a background refresh,
			// held, which nobody can join.
			require.NoError(t, env.m.Set(ctx, 1, "set"))
			bg := startHeldBackgroundOf(t, env, next, &stale, "set")

			leadStores(t, env, leave, done, got)

			// A later Refresh whose fn fails: nothing is owed.
			require.ErrorIs(t, refreshFailing(ctx, env, next), errDBTimeout)
			assertPeek(t, env, "new", "the failed Refresh removed the entry that only an unjoined background refresh was to replace")

			close(bg.release)
			awaitBackgroundDone(t, env)
		})
	}
}
