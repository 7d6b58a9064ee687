package caching

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// supersedingCalls are the calls of a (1) that supersede a Set or Forget
// made before them, with what a's entry holds after each has won ("": no
// entry).
var supersedingCalls = []struct {
	name string
	do   func(t *testing.T, ctx context.Context, env *setOrderEnv) error
	want string
}{
	{"Set", func(_ *testing.T, ctx context.Context, env *setOrderEnv) error { return env.m.Set(ctx, 1, "set 2") }, "set 2"},
	{"Refresh", func(t *testing.T, ctx context.Context, env *setOrderEnv) error {
		env.data.Store("new") // the update after the first call
		v, err := env.m.Refresh(ctx, 1)
		assert.Equal(t, "new", v)
		return err
	}, "new"},
	{"failed Refresh", func(t *testing.T, ctx context.Context, env *setOrderEnv) error {
		env.fail.Store(true)
		_, err := env.m.Refresh(ctx, 1)
		assert.Error(t, err)
		env.fail.Store(false)
		return nil
	}, ""},
	{"Forget", func(_ *testing.T, ctx context.Context, env *setOrderEnv) error { return env.m.Forget(ctx, 1) }, ""},
	{"ForgetAll", func(_ *testing.T, ctx context.Context, env *setOrderEnv) error { return env.m.ForgetAll(ctx) }, ""},
}

// TestMemoizeForgetSupersededDeletesNothing: Forget's delete was not
// ordered by saveMu: a Set made after Forget's supersede that stored
// before Forget's delete was made lost its value to that delete (a miss
// where Set's contract is that the later call wins). Now Forget deletes
// holding its key's write lock, and not after a later call has written
// (memoShared.mayReplace): that call's result stands, as for a
// superseded Set. A later Refresh whose fn fails removes the entry
// Forget did not, so the entry Forget was called for is never served.
func TestMemoizeForgetSupersededDeletesNothing(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, later := range supersedingCalls {
				t.Run(later.name, func(t *testing.T) {
					ctx := context.Background()
					env := newSetOrderEnv(t, st.open)
					var hooked atomic.Bool
					forgetSupersededHook = func(key string) {
						if key == env.key && hooked.CompareAndSwap(false, true) {
							// Forget has superseded, and not deleted yet.
							require.NoError(t, later.do(t, ctx, env))
						}
					}
					t.Cleanup(func() { forgetSupersededHook = nil })
					require.NoError(t, env.m.Forget(ctx, 1))
					require.True(t, hooked.Load())

					v, _, err := env.m.Peek(ctx, 1)
					if later.want == "" {
						assert.ErrorIs(t, err, ErrNotFound, "got %q", v)
						return
					}
					require.NoError(t, err, "the later call's result was deleted by Forget")
					assert.Equal(t, later.want, v, "the call that superseded last wins")
				})
			}
		})
	}
}

// hungDeletes is a remote store whose deletes hang until their context
// ends.
type hungDeletes struct{ backend.Backend }

func (hungDeletes) Delete(ctx context.Context, _ ...string) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestMemoizeForgetBoundedUnderSaveMu: Forget's delete is made holding its
// key's write lock, which the next write of the key waits for, and
// ForgetAll's holding saveMu (write), which every supersede of the name
// waits for: they are bounded by Options.Timeout, as Set's store is, so
// that a hung
// backend fails the call (its delete retried in the background) rather
// than holding every Forget, Refresh and Set of the name, and the caller,
// for as long as the caller's context (here, for ever).
func TestMemoizeForgetBoundedUnderSaveMu(t *testing.T) {
	for name, forget := range map[string]func(ctx context.Context, m *Memoized[int, string]) error{
		"Forget":    func(ctx context.Context, m *Memoized[int, string]) error { return m.Forget(ctx, 1) },
		"ForgetAll": func(ctx context.Context, m *Memoized[int, string]) error { return m.ForgetAll(ctx) },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := New(&Options{Backend: hungDeletes{&remote{Backend: newSimple(t, nil)}}, Timeout: time.Second,
					Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, err)
				defer c.Close()
				m := Memoize(c, "forget-hung", func(context.Context, int) (string, error) { return "v", nil })
				err = forget(context.Background(), m)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.NoError(t, m.Set(context.Background(), 1, "set"), "a supersede after a hung %s", name)
			})
		})
	}
}

// TestMemoizeForgetAllThenSetKeepsSet: ForgetAll's delete of the
// function's generation was not ordered by saveMu: a Set made after
// ForgetAll's supersede read the generation before that delete, stored
// under it, and lost its value to the delete (a miss where the later call
// is to win). Now ForgetAll deletes the generation holding saveMu, which
// a later Set's supersede waits for: Set reads the generation after the
// delete, and its value is served.
func TestMemoizeForgetAllThenSetKeepsSet(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			env := newSetOrderEnv(t, st.open)
			set := make(chan error, 1)
			var hooked atomic.Bool
			forgetAllSupersededHook = func(genKey string) {
				if genKey != env.m.genKey || !hooked.CompareAndSwap(false, true) {
					return
				}
				// ForgetAll has superseded, and not deleted yet: a Set made
				// now ran to its end before ForgetAll went on; now it waits
				// for ForgetAll's delete, which nothing here can observe
				// (it blocks on a mutex): the wait for it is cut short at
				// 250 ms, far more than a Set on these stores takes, and
				// short of the Cache's Timeout (SlowTimeout) that bounds
				// the whole Set, its wait for ForgetAll's delete included.
				go func() { set <- env.m.Set(ctx, 1, "set") }()
				select {
				case err := <-set:
					set <- err
				case <-time.After(250 * time.Millisecond):
				}
			}
			t.Cleanup(func() { forgetAllSupersededHook = nil })
			require.NoError(t, env.m.ForgetAll(ctx))
			require.True(t, hooked.Load())
			require.NoError(t, <-set)

			v, _, err := env.m.Peek(ctx, 1)
			require.NoError(t, err, "the Set made after ForgetAll's supersede was lost to its delete")
			assert.Equal(t, "set", v)
		})
	}
}
