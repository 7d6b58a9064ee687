package caching

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
				env := newSetOrderEnv(t, st.open) // "old" stored
				next := holdFn(env)
				env.data.Store("new") // the update
				r1 := newHeldCall(false)
				done, got := startRefresh(env, next, r1)
				release := env.holdTags() // the Set's ArgTags, past its supersede
				set := make(chan error, 1)
				go func() { set <- env.m.Set(ctx, 1, "set") }()
				<-env.inTags
				close(r1.release)
				require.NoError(t, <-done)
				require.Equal(t, "new", got.Load())
				v, _, err := env.m.Peek(ctx, 1)
				require.NoError(t, err, "R1 returned its result, and nothing is stored")
				assert.Equal(t, "new", v, "R1 returned, and the entry of before it is served")

				release()
				require.NoError(t, <-set)
				v, _, err = env.m.Peek(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, "set", v, "the later Set wins")
			})
			t.Run("Set during its store", func(t *testing.T) {
				ctx := context.Background()
				env := newSetOrderEnv(t, st.open)
				next := holdFn(env)
				env.data.Store("new")
				r1 := newHeldCall(false)
				done, _ := startRefresh(env, next, r1)
				inWrite, releaseWrite := make(chan struct{}), make(chan struct{})
				env.h.on(env.key, func(write func() error) error {
					close(inWrite)
					<-releaseWrite
					return write()
				})
				set := make(chan error, 1)
				go func() { set <- env.m.Set(ctx, 1, "set") }()
				<-inWrite // Set has settled; its store is in progress
				env.h.off()
				close(r1.release)
				awaitFirstAfter(t, env, done, close1(releaseWrite), "R1 returned while the later Set's store was in progress")
				require.NoError(t, <-set)
				v, _, err := env.m.Peek(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, "set", v, "the later Set wins")
			})
			t.Run("Refresh", func(t *testing.T) {
				ctx := context.Background()
				env := newSetOrderEnv(t, st.open)
				next := holdFn(env)
				env.data.Store("new")
				r1 := newHeldCall(false)
				done1, got1 := startRefresh(env, next, r1)
				env.data.Store("newer") // a second update, and its Refresh
				r2 := newHeldCall(false)
				done2, _ := startRefresh(env, next, r2)
				close(r1.release)
				require.NoError(t, <-done1)
				require.Equal(t, "new", got1.Load())
				v, _, err := env.m.Peek(ctx, 1)
				require.NoError(t, err, "R1 returned its result, and nothing is stored")
				assert.Equal(t, "new", v, "R1 returned, and the entry of before it is served")

				close(r2.release)
				require.NoError(t, <-done2)
				v, _, err = env.m.Peek(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, "newer", v, "the later Refresh wins")
			})
			t.Run("Forget during its delete", func(t *testing.T) {
				ctx := context.Background()
				env := newSetOrderEnv(t, st.open)
				next := holdFn(env)
				env.data.Store("new")
				r1 := newHeldCall(false)
				done, _ := startRefresh(env, next, r1)
				inDelete, releaseDelete := make(chan struct{}), make(chan struct{})
				env.h.onDelete(env.key, func(del func() error) error {
					close(inDelete)
					<-releaseDelete
					return del()
				})
				forget := make(chan error, 1)
				go func() { forget <- env.m.Forget(ctx, 1) }()
				<-inDelete // Forget has settled; its delete is in progress
				env.h.offDelete()
				close(r1.release)
				awaitFirstAfter(t, env, done, close1(releaseDelete), "R1 returned while the later Forget's delete was in progress")
				require.NoError(t, <-forget)
				v, _, err := env.m.Peek(ctx, 1)
				assert.ErrorIs(t, err, ErrNotFound, "R1 stored %q after the later Forget had deleted", v)
			})
			t.Run("ForgetAll during its delete", func(t *testing.T) {
				ctx := context.Background()
				env := newSetOrderEnv(t, st.open)
				next := holdFn(env)
				env.data.Store("new")
				r1 := newHeldCall(false)
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
				v, _, err := env.m.Peek(ctx, 1)
				assert.ErrorIs(t, err, ErrNotFound, "R1 stored %q after the later ForgetAll", v)
			})
			t.Run("Set, result refused", func(t *testing.T) {
				// R1's result is one StoreIf refuses: it removes the
				// entry it was to replace, as a Refresh not superseded
				// does, rather than leave it served.
				ctx := context.Background()
				env := newSetOrderEnv(t, st.open, StoreIf(func(v string) bool { return v != "refused" }))
				next := holdFn(env)
				env.data.Store("refused")
				r1 := newHeldCall(false)
				done, _ := startRefresh(env, next, r1)
				release := env.holdTags()
				set := make(chan error, 1)
				go func() { set <- env.m.Set(ctx, 1, "set") }()
				<-env.inTags
				close(r1.release)
				require.NoError(t, <-done)
				v, _, err := env.m.Peek(ctx, 1)
				assert.ErrorIs(t, err, ErrNotFound, "R1 returned, and the entry of before it is served: %q", v)

				release()
				require.NoError(t, <-set)
				v, _, err = env.m.Peek(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, "set", v, "the later Set wins")
			})
		})
	}
}
