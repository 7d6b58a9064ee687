package caching

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// errDBTimeout is the error of a held call of fn that fails (holdFn).
var errDBTimeout = errors.New("db: timeout")

// holdFn makes env's fn hold the calls given to the returned func, one
// each, in turn: a call held reads env's data when it begins, says so on
// its entered, and returns once released (or fails, where fail is set).
func holdFn(env *setOrderEnv) (next func(*heldCall)) {
	var p atomic.Pointer[heldCall]
	env.call = func() (string, error) {
		v := env.data.Load().(string)
		if h := p.Swap(nil); h != nil {
			h.entered <- struct{}{}
			<-h.release
			if h.fail {
				return "", errDBTimeout
			}
		}
		return v, nil
	}
	return func(h *heldCall) { p.Store(h) }
}

// startRefresh starts env's Refresh of 1, whose fn is held (h), and
// returns once fn has read the data; its result comes on done.
func startRefresh(env *setOrderEnv, next func(*heldCall), h *heldCall) (done chan error, got *atomic.Value) {
	next(h)
	done, got = make(chan error, 1), new(atomic.Value)
	go func() {
		v, err := env.m.Refresh(context.Background(), 1)
		got.Store(v)
		done <- err
	}()
	<-h.entered
	return done, got
}

// newSupersededEnv is newSetOrderEnv ("old" stored) whose data is then
// updated to data, with fn held (holdFn) and the held call R1 is to make.
func newSupersededEnv(t *testing.T, open func(t *testing.T, h *setHook) backend.Backend, data string, opts ...MemoOption) (*setOrderEnv, func(*heldCall), *heldCall) {
	env := newSetOrderEnv(t, open, opts...)
	next := holdFn(env)
	env.data.Store(data) // the update
	return env, next, newHeldCall(false)
}

// holdWrite holds the next write of env's key (with del, its next delete)
// once it is made: in is closed then, and it goes on when release is.
func holdWrite(env *setOrderEnv, del bool) (in, release chan struct{}) {
	in, release = make(chan struct{}), make(chan struct{})
	hold := func(write func() error) error {
		close(in)
		if del {
			env.h.offDelete()
		} else {
			env.h.off()
		}
		<-release
		return write()
	}
	if del {
		env.h.onDelete(env.key, hold)
	} else {
		env.h.on(env.key, hold)
	}
	return in, release
}

// assertPeek asserts that env's argument 1 has want stored ("": nothing),
// what says why.
func assertPeek(t *testing.T, env *setOrderEnv, want, what string) {
	t.Helper()
	v, _, err := env.m.Peek(context.Background(), 1)
	if want == "" {
		assert.ErrorIs(t, err, ErrNotFound, "%s: %q is stored", what, v)
		return
	}
	require.NoError(t, err, what)
	assert.Equal(t, want, v, what)
}

// TestMemoizeSupersededRefreshStores: a Refresh (R1) after an update,
// superseded by a later call of its argument while its fn ran, returned
// its new result without storing it, and until the later call wrote (a
// Set whose store was slow, a Refresh still computing), a Get was served
// the entry of before R1 ("old"), though R1 had returned. Now R1 stores
// while no later call has written, deciding holding the key's write lock
// (a later write in progress is waited for), and the later call's write
// lands over it. It stores nothing where the later call has written (a
// Forget's delete) or after a ForgetAll.
func TestMemoizeSupersededRefreshStores(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			t.Run("Set before its store", func(t *testing.T) {
				ctx := context.Background()
				env, next, r1 := newSupersededEnv(t, st.open, "new")
				done, got := startRefresh(env, next, r1)
				release := env.holdTags() // the Set's ArgTags, past its supersede
				set := make(chan error, 1)
				go func() { set <- env.m.Set(ctx, 1, "set") }()
				<-env.inTags
				close(r1.release)
				require.NoError(t, <-done)
				require.Equal(t, "new", got.Load())
				assertPeek(t, env, "new", "R1 returned, and the entry of before it is served")

				release()
				require.NoError(t, <-set)
				assertPeek(t, env, "set", "the later Set wins")
			})
			t.Run("Set during its store", func(t *testing.T) {
				ctx := context.Background()
				env, next, r1 := newSupersededEnv(t, st.open, "new")
				done, _ := startRefresh(env, next, r1)
				inWrite, releaseWrite := holdWrite(env, false)
				set := make(chan error, 1)
				go func() { set <- env.m.Set(ctx, 1, "set") }()
				<-inWrite // Set has settled; its store is in progress
				close(r1.release)
				awaitFirstAfter(t, env, done, close1(releaseWrite), "R1 returned while the later Set's store was in progress")
				require.NoError(t, <-set)
				assertPeek(t, env, "set", "the later Set wins")
			})
			t.Run("Refresh", func(t *testing.T) {
				env, next, r1 := newSupersededEnv(t, st.open, "new")
				done1, got1 := startRefresh(env, next, r1)
				env.data.Store("newer") // a second update, and its Refresh
				r2 := newHeldCall(false)
				done2, _ := startRefresh(env, next, r2)
				close(r1.release)
				require.NoError(t, <-done1)
				require.Equal(t, "new", got1.Load())
				assertPeek(t, env, "new", "R1 returned, and the entry of before it is served")

				close(r2.release)
				require.NoError(t, <-done2)
				assertPeek(t, env, "newer", "the later Refresh wins")
			})
			t.Run("Forget during its delete", func(t *testing.T) {
				ctx := context.Background()
				env, next, r1 := newSupersededEnv(t, st.open, "new")
				done, _ := startRefresh(env, next, r1)
				inDelete, releaseDelete := holdWrite(env, true)
				forget := make(chan error, 1)
				go func() { forget <- env.m.Forget(ctx, 1) }()
				<-inDelete // Forget has settled; its delete is in progress
				close(r1.release)
				awaitFirstAfter(t, env, done, close1(releaseDelete), "R1 returned while the later Forget's delete was in progress")
				require.NoError(t, <-forget)
				assertPeek(t, env, "", "R1 stored %q after the later Forget had deleted")
			})
			t.Run("ForgetAll during its delete", func(t *testing.T) {
				ctx := context.Background()
				env, next, r1 := newSupersededEnv(t, st.open, "new")
				done, _ := startRefresh(env, next, r1)
				inDelete, releaseDelete := make(chan struct{}), make(chan struct{})
				forgetAllSupersededHook = func(string) {
					close(inDelete)
					<-releaseDelete
				}
				t.Cleanup(func() { forgetAllSupersededHook = nil })
				all := make(chan error, 1)
				go func() { all <- env.m.ForgetAll(ctx) }()
				<-inDelete // ForgetAll has superseded; its delete is in progress
				close(r1.release)
				awaitFirstAfter(t, env, done, close1(releaseDelete), "R1 returned before the later ForgetAll's delete")
				require.NoError(t, <-all)
				assertPeek(t, env, "", "R1 stored %q after the later ForgetAll")
			})
			t.Run("Set, result refused", func(t *testing.T) {
				// R1's result is one StoreIf refuses: it removes the
				// entry it was to replace, as a Refresh not superseded
				// does, rather than leave it served.
				ctx := context.Background()
				env, next, r1 := newSupersededEnv(t, st.open, "refused", StoreIf(func(v string) bool { return v != "refused" }))
				done, _ := startRefresh(env, next, r1)
				release := env.holdTags()
				set := make(chan error, 1)
				go func() { set <- env.m.Set(ctx, 1, "set") }()
				<-env.inTags
				close(r1.release)
				require.NoError(t, <-done)
				assertPeek(t, env, "", "R1 returned, and the entry of before it is served: %q")

				release()
				require.NoError(t, <-set)
				assertPeek(t, env, "set", "the later Set wins")
			})
		})
	}
}
