package caching

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoForgetOtherArgumentKeepsResult: Forget(a) and Set(a, r) keep a's
// computation in flight from storing its result, not every other
// argument's: a service that forgets (or sets) one entry per update, while
// slow computations of other arguments run, must still store those.
func TestMemoForgetOtherArgumentKeepsResult(t *testing.T) {
	for _, op := range []string{"Forget", "Set", "Refresh"} {
		t.Run(op, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				ctx := context.Background()
				var calls atomic.Int64
				gate := make(chan struct{})
				entered := make(chan struct{}, 1)
				m := Memoize(e.c, "profile", func(_ context.Context, user int) (string, error) {
					n := calls.Add(1)
					if user == 2 && n == 1 {
						entered <- struct{}{}
						<-gate // a slow computation of user 2
					}
					return fmt.Sprint("user ", user, " #", n), nil
				})
				done := make(chan string)
				go func() {
					v, _ := m.Get(ctx, 2)
					done <- v
				}()
				<-entered
				// Meanwhile, user 1's profile changed.
				switch op {
				case "Forget":
					require.NoError(t, m.Forget(ctx, 1))
				case "Set":
					require.NoError(t, m.Set(ctx, 1, "user 1 updated"))
				case "Refresh":
					_, err := m.Refresh(ctx, 1)
					require.NoError(t, err)
				}
				close(gate)
				first := <-done
				before := calls.Load()
				v, err := m.Get(ctx, 2)
				require.NoError(t, err)
				assert.Equal(t, first, v, "user 2's result, computed while user 1's entry was updated (%s), is stored", op)
				assert.Equal(t, before, calls.Load(), "user 2 computed once")
			})
		})
	}
}

// TestMemoForgetStopsOwnArgument: what the per-argument epoch keeps: a
// computation of a running when Forget(a), Set(a, r) or ForgetAll is called
// does not store its result, and a Get after it returned computes again.
func TestMemoForgetStopsOwnArgument(t *testing.T) {
	for _, op := range []string{"Forget", "Set", "ForgetAll"} {
		t.Run(op, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				ctx := context.Background()
				var data atomic.Value
				data.Store("old")
				gate := make(chan struct{})
				entered := make(chan struct{}, 1)
				var slow atomic.Bool
				slow.Store(true)
				m := Memoize(e.c, "profile", func(_ context.Context, user int) (string, error) {
					v := data.Load().(string)
					if slow.CompareAndSwap(true, false) {
						entered <- struct{}{}
						<-gate
					}
					return fmt.Sprint(user, ":", v), nil
				})
				done := make(chan struct{})
				go func() {
					defer close(done)
					_, _ = m.Get(ctx, 2)
				}()
				<-entered // the computation read the old data
				data.Store("new")
				switch op {
				case "Forget":
					require.NoError(t, m.Forget(ctx, 2))
				case "Set":
					require.NoError(t, m.Set(ctx, 2, "2:new"))
				case "ForgetAll":
					require.NoError(t, m.ForgetAll(ctx))
				}
				close(gate)
				<-done
				v, err := m.Get(ctx, 2)
				require.NoError(t, err)
				assert.Equal(t, "2:new", v)
			})
		})
	}
}
