package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeSupersededSetReturnsAfterTheLaterWriteLands: a Set (or
// Forget) superseded by a later Set checked mayReplace once before it took
// its key's write lock, and returned nil there if the later Set had
// settled the key; but Set settles before its store is made, so while
// that store was in progress (a slow remote write) the first call had
// returned nil and a Get after it was served the entry of before it
// ("old"), where a Set or Forget that returned nil is never followed by
// the entry from before it. It decides holding the lock now.
func TestMemoizeSupersededSetReturnsAfterTheLaterWriteLands(t *testing.T) {
	forEachFirst(t, func(t *testing.T, env *setOrderEnv, first string) {
		ctx := context.Background()
		done, release := startHeldFirst(t, env, first)

		// The later Set settles, then its store is held in the
		// backend (a write in progress).
		inWrite, releaseWrite := holdWrite(env, false)
		later := make(chan error, 1)
		go func() { later <- env.m.Set(ctx, 1, "set 2") }()
		<-inWrite
		release()

		awaitFirstAfter(t, env, done, close1(releaseWrite), first+" returned nil while the later Set's store was in progress")
		require.NoError(t, <-later)
		v, _, err := env.m.Peek(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "set 2", v, "the later Set wins")
	})
}

// TestMemoizeSupersededSetReturnsAfterForgetAllDeletes: a Set (or Forget)
// superseded by ForgetAll before its write found the generation changed
// (mayReplace) and returned nil at once, while ForgetAll's delete of the
// generation was still in progress: a Get after it was served the entry
// of before it. mayReplace waits for that delete (saveMu, which ForgetAll
// holds for it), as Set's check did before 581102b.
func TestMemoizeSupersededSetReturnsAfterForgetAllDeletes(t *testing.T) {
	forEachFirst(t, func(t *testing.T, env *setOrderEnv, first string) {
		ctx := context.Background()
		done, release := startHeldFirst(t, env, first)

		inDelete, releaseDelete := make(chan struct{}), make(chan struct{})
		forgetAllSupersededHook = func(string) {
			close(inDelete)
			<-releaseDelete
		}
		t.Cleanup(func() { forgetAllSupersededHook = nil })
		all := make(chan error, 1)
		go func() { all <- env.m.ForgetAll(ctx) }()
		<-inDelete // ForgetAll has superseded, its delete not made
		release()

		awaitFirstAfter(t, env, done, close1(releaseDelete), first+" returned nil before ForgetAll's delete")
		require.NoError(t, <-all)
		_, _, err := env.m.Peek(ctx, 1)
		assert.ErrorIs(t, err, ErrNotFound, "ForgetAll, the later call, wins")
	})
}

// forEachFirst runs f on each of setOrderStores for each first call ("Set",
// "Forget"), with env's argument 1 stored ("old").
func forEachFirst(t *testing.T, f func(t *testing.T, env *setOrderEnv, first string)) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, first := range []string{"Set", "Forget"} {
				t.Run(first, func(t *testing.T) { f(t, newSetOrderEnv(t, st.open), first) })
			}
		})
	}
}

// startHeldFirst starts first ("Set" of "set 1", or "Forget") of env's
// argument 1, and returns once it has superseded and not written yet: it
// goes on when release is called, and its error comes on done.
func startHeldFirst(t *testing.T, env *setOrderEnv, first string) (done chan error, release func()) {
	ctx := context.Background()
	if first == "Set" {
		release = env.holdTags()
	} else {
		hold := make(chan struct{})
		forgetSupersededHook = func(key string) {
			if key == env.key {
				env.inTags <- struct{}{}
				<-hold
			}
		}
		t.Cleanup(func() { forgetSupersededHook = nil })
		release = func() { close(hold) }
	}
	done = make(chan error, 1)
	go func() {
		if first == "Set" {
			done <- env.m.Set(ctx, 1, "set 1")
		} else {
			done <- env.m.Forget(ctx, 1)
		}
	}()
	<-env.inTags
	return done, release
}

// close1 returns a func that closes ch.
func close1(ch chan struct{}) func() { return func() { close(ch) } }

// awaitFirstAfter waits for the call startHeldFirst started, while the
// later call's write is held (releaseLater lets it land). If the first
// call returns meanwhile, it must have returned nil and what is served
// must not be the entry of before it ("old"); if it waits (for the key's
// write lock, or saveMu), the later write is released after a generous
// 200ms for it to have returned if it did not wait.
func awaitFirstAfter(t *testing.T, env *setOrderEnv, done chan error, releaseLater func(), what string) {
	t.Helper()
	select {
	case err := <-done:
		require.NoError(t, err)
		v, _, perr := env.m.Peek(context.Background(), 1)
		if perr == nil {
			assert.NotEqual(t, "old", v, "%s, and the entry of before it is served", what)
		}
		releaseLater()
	case <-time.After(200 * time.Millisecond):
		releaseLater()
		require.NoError(t, <-done)
	}
}

// TestMemoizeSupersededSetWaitsForForgetAllDuringItsCheck: Set (or Forget)
// read ForgetAll's count (all) unchanged, then checked its key's settled
// epoch; a ForgetAll that came between the two (its count changed, its
// delete of the generation in progress) made the second reading differ,
// and Set returned nil at once, without waiting for that delete: a Get
// after it was served the entry of before it ("old"). Seen in the
// exploration test of the later call winning (a Forget that returned nil,
// then a Get served an older Set's result, a ForgetAll overlapping). The
// count is now read after the check, and a change waits for the delete.
func TestMemoizeSupersededSetWaitsForForgetAllDuringItsCheck(t *testing.T) {
	forEachFirst(t, func(t *testing.T, env *setOrderEnv, first string) {
		ctx := context.Background()
		inDelete, releaseDelete := make(chan struct{}), make(chan struct{})
		forgetAllSupersededHook = func(string) {
			close(inDelete)
			<-releaseDelete
		}
		t.Cleanup(func() { forgetAllSupersededHook = nil })
		all := make(chan error, 1)
		var once atomic.Bool
		mayReplaceHook = func(key string) {
			if key != env.key || !once.CompareAndSwap(false, true) {
				return
			}
			go func() { all <- env.m.ForgetAll(ctx) }()
			<-inDelete // ForgetAll has changed its count; its delete is in progress
		}
		t.Cleanup(func() { mayReplaceHook = nil })
		done := make(chan error, 1)
		go func() {
			if first == "Set" {
				done <- env.m.Set(ctx, 1, "set")
			} else {
				done <- env.m.Forget(ctx, 1)
			}
		}()
		awaitFirstAfter(t, env, done, close1(releaseDelete), first+" returned nil before the delete of a ForgetAll that came during its check")
		require.NoError(t, <-all)
		require.True(t, once.Load(), "the check was not made")
		_, _, err := env.m.Peek(ctx, 1)
		assert.ErrorIs(t, err, ErrNotFound, "ForgetAll, the later call, wins")
	})
}
