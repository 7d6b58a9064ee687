package caching

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeSetSupersededBeforeItsStoreIsServed: a Set (or Forget)
// superseded before its store (by a Refresh of the same argument called
// meanwhile) stored nothing and returned nil, "r replaced by the later
// call's result as if r had been stored first"; but until that Refresh's
// fn returned, the entry of the data before Set was still stored and
// fresh: a Get made after Set returned nil was served the value Set
// replaced, for as long as fn ran. A caller that updated its database,
// called Set, and read back got the old value. Now Set stores (Forget
// deletes) unless the later call has already written, and the later
// call's store lands after it. (Found by review, on every store.)
func TestMemoizeSetSupersededBeforeItsStoreIsServed(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				do   func(ctx context.Context, env *setOrderEnv) error
				want string // "": no entry
			}{
				{"Set", func(ctx context.Context, env *setOrderEnv) error { return env.m.Set(ctx, 1, "set") }, "set"},
				{"Forget", func(ctx context.Context, env *setOrderEnv) error { return env.m.Forget(ctx, 1) }, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					env := newSetOrderEnv(t, st.open) // "old" stored
					inFn, releaseFn := make(chan struct{}), make(chan struct{})
					env.call = func() (string, error) {
						close(inFn)
						<-releaseFn
						return "refreshed", nil
					}
					var release func()
					if tc.name == "Set" {
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
					done := make(chan error, 1)
					go func() { done <- tc.do(ctx, env) }()
					<-env.inTags // it has superseded, and not written yet
					refreshed := make(chan struct{})
					go func() {
						defer close(refreshed)
						_, _ = env.m.Refresh(ctx, 1)
					}()
					<-inFn // the Refresh has superseded it, its fn runs
					release()
					require.NoError(t, <-done)

					v, _, err := env.m.Peek(ctx, 1)
					if tc.want == "" {
						assert.ErrorIs(t, err, ErrNotFound, "a Forget that returned nil left %q served", v)
					} else {
						require.NoError(t, err)
						assert.Equal(t, tc.want, v, "a Get after Set returned nil is served the value Set replaced")
						got, err := env.m.Get(ctx, 1)
						require.NoError(t, err)
						assert.Equal(t, tc.want, got)
					}
					close(releaseFn)
					<-refreshed
					v, _, err = env.m.Peek(ctx, 1)
					require.NoError(t, err)
					assert.Equal(t, "refreshed", v, "the later Refresh wins")
				})
			}
		})
	}
}
