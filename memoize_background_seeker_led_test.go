package caching

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// seekerForcedKey is the context key of a Get that RefreshIf forces in
// TestMemoizeBackgroundRefreshNotOwedToALeadingSeeker.
type seekerForcedKey struct{}

// TestMemoizeBackgroundRefreshNotOwedToALeadingSeeker: a stale hit's
// background refresh is pending as a replacement (owed a removal by a
// later replacement whose fn fails) only where a Refresh or forced Get may
// join it (keyEpoch.seeking, 5289fe6). A Refresh or forced Get (R1) that
// leads a computation of its own never joins another: it returns its own
// result. It stayed registered as seeking all the same, until it returned;
// so a background refresh begun while R1 computed (after a Set, which
// forgot R1's computation, stored "set") was pending, and a later Refresh
// whose fn failed removed "set", the entry nobody was owed a removal of: a
// miss, and the stale-while-revalidate fallback lost, as 5289fe6 fixed for
// a background refresh begun with no Refresh running. The entry is kept.
// So it is where the Set and the stale hit come in the window between R1's
// becoming its computation's leader and that computation's start (in the
// goroutine of its flight: "before fn"), where R1 was still registered as
// seeking: it now leads from the moment the flight makes it the leader
// (flight.Group.DoLeading).
func TestMemoizeBackgroundRefreshNotOwedToALeadingSeeker(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, seeker := range []struct {
				name string
				call func(env *setOrderEnv) (string, error)
			}{
				{"Refresh", func(env *setOrderEnv) (string, error) { return env.m.Refresh(context.Background(), 1) }},
				{"forced Get", func(env *setOrderEnv) (string, error) {
					return env.m.Get(context.WithValue(context.Background(), seekerForcedKey{}, true), 1)
				}},
			} {
				for _, beforeFn := range []bool{false, true} {
					t.Run(seeker.name+map[bool]string{false: "", true: "/before fn"}[beforeFn], func(t *testing.T) {
						testBackgroundRefreshNotOwedToALeadingSeeker(t, st.open, seeker.call, beforeFn)
					})
				}
			}
		})
	}
}

// testBackgroundRefreshNotOwedToALeadingSeeker is
// TestMemoizeBackgroundRefreshNotOwedToALeadingSeeker for one store and
// seeker (call), whose Set and stale hit are made while R1's fn is held,
// or, if beforeFn is set, before R1's computation starts
// (seekerLeadsHook): that computation, begun after the Set, then stores
// its result ("new") and returns before the later Refresh fails.
func testBackgroundRefreshNotOwedToALeadingSeeker(t *testing.T, open func(t *testing.T, h *setHook) backend.Backend, call func(env *setOrderEnv) (string, error), beforeFn bool) {
	ctx := context.Background()
	var stale atomic.Bool
	env, next, r1 := newSupersededEnv(t, open, "new", append(staleWhile(&stale, "set"),
		RefreshIf(func(ctx context.Context, _ int) bool { return ctx.Value(seekerForcedKey{}) != nil }))...)
	var inWindow, leave chan struct{}
	if beforeFn {
		inWindow, leave = holdSeekerLead(t, env)
	} else {
		next(r1) // R1 leads its own computation, held once fn has read "new".
	}
	done, got := goSeeker(env, call)
	if beforeFn {
		<-inWindow
	} else {
		<-r1.entered
	}

	// A Set made meanwhile stores "set" (and forgets R1's computation: a
	// stale hit's refresh joins it no more).
	require.NoError(t, env.m.Set(ctx, 1, "set"))
	assertPeek(t, env, "set", "the Set stores")

	// A stale hit of "set" starts a background refresh of its own, held;
	// nobody can join it: R1 computes its own.
	bg := startHeldBackgroundOf(t, env, next, &stale, "set")
	want := "set" // what the later Refresh, whose fn fails, is to keep
	if beforeFn {
		leadStores(t, env, leave, done, got)
		want = "new"
	}

	// A later Refresh whose fn fails: nothing is owed.
	require.ErrorIs(t, refreshFailing(ctx, env, next), errDBTimeout)
	assertPeek(t, env, want, "the failed Refresh removed the entry that only an unjoined background refresh was to replace")

	close(bg.release)
	awaitBackgroundDone(t, env)
	assertPeek(t, env, "new", "the background refresh, begun after the Set, stores")
	if !beforeFn {
		close(r1.release)
		require.NoError(t, <-done)
		assert.Equal(t, "new", got.Load())
		assertPeek(t, env, "new", "R1, superseded by the Set, which wrote, stores nothing")
	}
}

// holdSeekerLead holds the computation of env's key that a Refresh or
// forced Get (R1) leads, the first one, before it starts
// (seekerLeadsHook): inWindow is closed then, and it starts once leave
// is.
func holdSeekerLead(t *testing.T, env *setOrderEnv) (inWindow, leave chan struct{}) {
	inWindow, leave = make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	seekerLeadsHook = func(k string) {
		if k == env.key && once.CompareAndSwap(false, true) {
			close(inWindow)
			<-leave
		}
	}
	t.Cleanup(func() { seekerLeadsHook = nil })
	return inWindow, leave
}

// goSeeker makes call (R1) on a goroutine of its own: its error comes on
// done, once its result is in got.
func goSeeker(env *setOrderEnv, call func(env *setOrderEnv) (string, error)) (done chan error, got *atomic.Value) {
	done, got = make(chan error, 1), new(atomic.Value)
	go func() {
		v, err := call(env)
		got.Store(v)
		done <- err
	}()
	return done, got
}

// leadStores lets R1's computation, held before it started
// (holdSeekerLead) and begun after a Set, start: R1 returns the data it
// read ("new"), and stores it.
func leadStores(t *testing.T, env *setOrderEnv, leave chan struct{}, done chan error, got *atomic.Value) {
	t.Helper()
	close(leave)
	require.NoError(t, <-done)
	assert.Equal(t, "new", got.Load())
	assertPeek(t, env, "new", "R1's computation, begun after the Set, stores")
}
