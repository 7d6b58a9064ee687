package caching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestMemoizeRefreshSupersededByFailedForgetAll: a Refresh (R1) computes
// after an update; a ForgetAll made while its fn runs fails (its delete of
// the generation refused, retried in the background). R1, superseded by a
// ForgetAll, stored nothing (mayReplace) and returned its new result with
// no error, while the entry of before it ("old") was still under the
// generation that was not deleted: another process sharing the backend was
// served it until the retry landed (this process's lookups miss meanwhile).
// Refresh promises that a Get after it returned nil is never served that
// entry; ForgetAll returned its error, so it made no promise of its own. A
// write superseded only by ForgetAlls whose deletes failed is now made.
// So is one superseded by a ForgetAll whose delete failed with
// backend.ErrClosed while the Cache is open (closedDeleteRefusals), which
// is never retried.
func TestMemoizeRefreshSupersededByFailedForgetAll(t *testing.T) {
	for _, refused := range closedDeleteRefusals {
		t.Run(refused.Error(), func(t *testing.T) {
			ctx := context.Background()
			env, next, r1, m2 := newFailedForgetAllEnv(t)
			done, got := startRefresh(env, next, r1)
			env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
			t.Cleanup(env.h.offDelete)
			require.ErrorIs(t, env.m.ForgetAll(ctx), refused)
			close(r1.release)
			require.NoError(t, <-done)
			require.Equal(t, "new", got.Load())

			v, err := m2.Get(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, "new", v, "R1 returned its new result with no error, and another process is served the entry of before it")
		})
	}
}

// closedDeleteRefusals are the failures of a ForgetAll's delete the tests
// of a write it superseded make: one retried in the background, and
// backend.ErrClosed from a backend the user closed (or a wrapper's), the
// Cache still open, which is never retried (retryInvalidation) and was
// taken for a delete whose retry had landed (memoShared.gone): the write
// was refused, or the entry removed, while the generation was never
// deleted.
var closedDeleteRefusals = []error{
	errors.New("remote: connection reset"),
	fmt.Errorf("wrapper: %w", backend.ErrClosed),
}

// newFailedForgetAllEnv is newSupersededEnv ("new") on a remote store, with
// another process's Memoized of the same name sharing its backend (m2),
// which has read the entry stored ("old").
func newFailedForgetAllEnv(t *testing.T) (*setOrderEnv, func(*heldCall), *heldCall, *Memoized[int, string]) {
	t.Helper()
	s := newSimple(t, nil)
	env, next, r1 := newSupersededEnv(t, func(_ *testing.T, h *setHook) backend.Backend {
		return remoteSetHooked{&remote{Backend: s}, h}
	}, "new")
	c2, err := New(&Options{Backend: nopClose{&remote{Backend: s}}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c2.Close() })
	m2 := Memoize(c2, "set-order", func(context.Context, int) (string, error) { return "computed by the other process", nil },
		TTL(time.Hour), ArgTags(func(int) []string { return []string{"t"} }))
	v, err := m2.Get(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "old", v, "the other process reads the entry stored")
	return env, next, r1, m2
}

// TestMemoizeSetSupersededByFailedForgetAll: a ForgetAll made during a
// Set's (or Forget's) check of its epoch, whose delete of the generation
// fails, superseded the Set: it stored nothing and returned nil, and
// another process sharing the backend was served the entry of before it
// ("old") until the retried delete landed. The Set is now stored (the
// Forget's delete made): the ForgetAll did not land. Nor did one whose
// delete failed with backend.ErrClosed (closedDeleteRefusals).
func TestMemoizeSetSupersededByFailedForgetAll(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(ctx context.Context, env *setOrderEnv) error
		want string // what the other process reads after it
	}{
		{"Set", func(ctx context.Context, env *setOrderEnv) error { return env.m.Set(ctx, 1, "set") }, "set"},
		{"Forget", func(ctx context.Context, env *setOrderEnv) error { return env.m.Forget(ctx, 1) }, "computed by the other process"},
	} {
		for _, refused := range closedDeleteRefusals {
			t.Run(tc.name+"/"+refused.Error(), func(t *testing.T) {
				ctx := context.Background()
				env, _, _, m2 := newFailedForgetAllEnv(t)
				env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
				t.Cleanup(env.h.offDelete)
				var once atomic.Bool
				mayReplaceHook = func(key string) {
					if key == env.key && once.CompareAndSwap(false, true) {
						assert.ErrorIs(t, env.m.ForgetAll(ctx), refused)
					}
				}
				t.Cleanup(func() { mayReplaceHook = nil })
				require.NoError(t, tc.do(ctx, env))
				require.True(t, once.Load(), "the check was not made")
				v, err := m2.Get(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, tc.want, v, "%s returned nil, and another process is served the entry of before it", tc.name)
			})
		}
	}
}
