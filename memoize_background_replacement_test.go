package caching

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startHeldBackground serves env's entry of 1 ("old") stale to a Get,
// which starts a background refresh whose fn is held (bg) once it has
// read env's data ("new"): nobody waits for its result.
func startHeldBackground(t *testing.T, env *setOrderEnv, next func(*heldCall), stale *atomic.Bool) *heldCall {
	t.Helper()
	return startHeldBackgroundOf(t, env, next, stale, "old")
}

// startHeldBackgroundOf is startHeldBackground of an entry that holds
// want.
func startHeldBackgroundOf(t *testing.T, env *setOrderEnv, next func(*heldCall), stale *atomic.Bool, want string) *heldCall {
	t.Helper()
	bg := newHeldCall(false)
	next(bg)
	require.Equal(t, want, getStale(t, env, stale), "served stale, with a refresh started")
	<-bg.entered
	return bg
}

// staleWhile are the options of an env whose entry, while it holds want,
// is stale (served so, with a background refresh: StaleWhileRevalidate)
// as long as stale is set.
func staleWhile(stale *atomic.Bool, want string) []MemoOption {
	return []MemoOption{StaleWhileRevalidate(time.Hour),
		StaleIf(func(v string) bool { return stale.Load() && v == want })}
}

// getStale is env's Get of 1 with stale set (see staleWhile).
func getStale(t *testing.T, env *setOrderEnv, stale *atomic.Bool) string {
	t.Helper()
	stale.Store(true)
	v, err := env.m.Get(context.Background(), 1)
	stale.Store(false)
	require.NoError(t, err)
	return v
}

// refreshFailing makes a Refresh of 1 whose fn fails (errDBTimeout) at
// once, and returns its error.
func refreshFailing(ctx context.Context, env *setOrderEnv, next func(*heldCall)) error {
	r := newHeldCall(true)
	close(r.release)
	next(r)
	_, err := env.m.Refresh(ctx, 1)
	return err
}

// awaitBackgroundDone waits for env's background refreshes to end. Polled:
// nothing else tells it; the deadline is generous.
func awaitBackgroundDone(t *testing.T, env *setOrderEnv) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		env.m.refreshMu.Lock()
		n := len(env.m.refreshing)
		env.m.refreshMu.Unlock()
		if n == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "the background refresh did not end")
	}
}

// TestMemoizeSupersededBackgroundRefreshKeepsNewerWrite: a background
// refresh that nobody joined, now a replacement (889c4a7: superseded, it
// stores while no later call has written), read the data ("new") before
// a later update ("newer") written by a Set, or by a Forget followed by a
// Get's miss. That later write settles the key (a Get's store does), so
// the refresh, released after it, stores nothing: its older result is
// never stored over the newer one.
func TestMemoizeSupersededBackgroundRefreshKeepsNewerWrite(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, later := range []struct {
				name string
				do   func(ctx context.Context, env *setOrderEnv) error
			}{
				{"Set", func(ctx context.Context, env *setOrderEnv) error { return env.m.Set(ctx, 1, "newer") }},
				{"ForgetThenGet", func(ctx context.Context, env *setOrderEnv) error {
					if err := env.m.Forget(ctx, 1); err != nil {
						return err
					}
					v, err := env.m.Get(ctx, 1)
					assert.Equal(t, "newer", v, "the Get's miss computes the newer data")
					return err
				}},
			} {
				t.Run(later.name, func(t *testing.T) {
					ctx := context.Background()
					var stale atomic.Bool
					env, next, _ := newSupersededEnv(t, st.open, "new", staleWhile(&stale, "old")...)
					bg := startHeldBackground(t, env, next, &stale)
					env.data.Store("newer")
					require.NoError(t, later.do(ctx, env))
					assertPeek(t, env, "newer", "the later "+later.name)
					close(bg.release)
					awaitBackgroundDone(t, env)
					assertPeek(t, env, "newer", "the background refresh's older result is not stored over the later "+later.name+"'s")
				})
			}
		})
	}
}

// TestMemoizeStaleHitDoesNotWaitForWrite: a stale hit (within
// StaleWhileRevalidate) returns the stale entry while a write of its key
// is in progress (a Set's store, held): its background refresh, which
// decides holding the key's write lock, waits for it on its own goroutine,
// never the caller's, and stores after the Set's (it began after it). The
// Set's write is released once the refresh has read the entry again
// (replacedSince, 4ceda5b), finding the one the hit read: one that found
// the Set's would compute nothing. Every wait is bounded (a liveness
// bound, not a timing assertion): the wait for the refresh's read once
// hung a run for 12 minutes; one that ends now fails with what the refresh
// had done.
func TestMemoizeStaleHitDoesNotWaitForWrite(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			var stale atomic.Bool
			env := newSetOrderEnv(t, st.open, staleWhile(&stale, "old")...)
			checked := make(chan bool, 1)
			var asked atomic.Bool
			memoRefreshAskedHook = func(key string) {
				if key == env.key {
					asked.Store(true)
				}
			}
			memoRefreshCheckedHook = func(key string, replaced bool) {
				if key == env.key {
					select {
					case checked <- replaced:
					default: // a second refresh: the first one's answer is the one read
					}
				}
			}
			t.Cleanup(func() { memoRefreshAskedHook, memoRefreshCheckedHook = nil, nil })
			inWrite, releaseWrite := holdWrite(env, false)
			setDone := make(chan error, 1)
			go func() { setDone <- env.m.Set(ctx, 1, "set") }()
			<-inWrite
			env.data.Store("new")
			got := make(chan string, 1)
			go func() {
				stale.Store(true)
				v, err := env.m.Get(ctx, 1)
				stale.Store(false)
				assert.NoError(t, err)
				got <- v
			}()
			select {
			case v := <-got:
				assert.Equal(t, "old", v, "served stale")
			case <-time.After(10 * time.Second): // a liveness bound, not a timing assertion
				t.Error("the stale hit waited for the write in progress")
			}
			select {
			case replaced := <-checked:
				require.False(t, replaced, "the refresh found the entry the hit read")
			case <-time.After(10 * time.Second): // a liveness bound, as above
				env.m.refreshMu.Lock()
				running := len(env.m.refreshing)
				env.m.refreshMu.Unlock()
				close(releaseWrite) // for the Set, and for a refresh that waits for it
				t.Fatalf("the background refresh did not read the entry again: refresh asked for: %v; refreshes running: %d (0 with one asked: it ended before its read, or a panic there was logged to the discarded log)",
					asked.Load(), running)
			}
			close(releaseWrite)
			select {
			case err := <-setDone:
				require.NoError(t, err)
			case <-time.After(10 * time.Second): // a liveness bound, as above
				t.Fatal("the Set did not return once its write was released")
			}
			awaitBackgroundDone(t, env)
			assertPeek(t, env, "new", "the refresh, begun after the Set, stores after it")
		})
	}
}
