package caching

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestMemoizeSetAfterForgetAllRetryLanded: a ForgetAll made after a Set's
// supersede, before the Set reads its tag versions, fails its delete of the
// generation; the retry deletes it before the Set reads them. The Set then
// read a generation made after the ForgetAll's delete landed, and stored r
// under it: served, in every process, as if no ForgetAll had come after the
// Set, whereas had the ForgetAll's own delete landed the Set would have
// stored nothing (mayReplace). Now the Set stores nothing where the
// retry has landed when it decides, and removes the entry where it
// cannot tell: another ForgetAll whose delete failed too waits for its
// retry ("failed again"), which would end r only when it lands.
func TestMemoizeSetAfterForgetAllRetryLanded(t *testing.T) {
	for _, again := range []bool{false, true} {
		t.Run(map[bool]string{false: "retry landed", true: "failed again"}[again], func(t *testing.T) {
			ctx := context.Background()
			env, _, _, m2 := newFailedForgetAllEnv(t)
			release := env.holdTags()
			t.Cleanup(release)
			done := make(chan error, 1)
			go func() { done <- env.m.Set(ctx, 1, "set") }()
			<-env.inTags // past Set's supersede, before its versions read

			refused := errors.New("remote: connection reset")
			env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
			t.Cleanup(env.h.offDelete)
			require.ErrorIs(t, env.m.ForgetAll(ctx), refused)
			env.h.offDelete()
			require.Eventually(t, func() bool { return env.m.c.Stats().PendingInvalidations == 0 },
				10*time.Second, time.Millisecond, "the retry of the generation's delete did not land")
			if again {
				env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
				require.ErrorIs(t, env.m.ForgetAll(ctx), refused)
			}

			release()
			require.NoError(t, <-done)
			v, err := m2.Get(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, "computed by the other process", v, "the ForgetAll after the Set landed (retried): the Set's result is served")
		})
	}
}

// TestMemoizeRefreshAfterForgetAllRetryLandedKeepsLaterGet: a Refresh (R1)
// computes; a ForgetAll made while its fn runs fails its delete, whose
// retry lands before R1 decides, and a Get made after that stores its
// result under the new generation. R1, superseded only by a ForgetAll
// whose own delete failed, still writes (69b363f), under the generation
// its versions were read at, which the retry deleted: a miss, over the
// Get's entry, and the next Get computes again. An extra miss (Low): R1's
// write could be skipped once the generation's delete no longer waits in
// the retry set (pendingInvalidations), as the entry it replaces is a
// miss everywhere by then.
func TestMemoizeRefreshAfterForgetAllRetryLandedKeepsLaterGet(t *testing.T) {
	ctx := context.Background()
	env, next, r1, _ := newFailedForgetAllEnv(t)
	done, got := startRefresh(env, next, r1)
	refused := errors.New("remote: connection reset")
	env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
	require.ErrorIs(t, env.m.ForgetAll(ctx), refused)
	env.h.offDelete()
	require.Eventually(t, func() bool { return env.m.c.Stats().PendingInvalidations == 0 },
		10*time.Second, time.Millisecond, "the retry of the generation's delete did not land")

	env.data.Store("newer") // read by the Get after the ForgetAll
	v, err := env.m.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "newer", v)
	close(r1.release)
	require.NoError(t, <-done)
	require.Equal(t, "new", got.Load())

	env.data.Store("newest") // read only if the next Get computes
	v, err = env.m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "newer", v, "R1's write under the deleted generation replaced the later Get's entry")
}

// TestMemoizeFailedRefreshKeepsGetAfterForgetAllRetryLanded: a Refresh
// (R1) computes; a ForgetAll made while its fn runs fails its delete, whose
// retry lands, and a Get made after that stores its result ("newer") under
// the new generation. A Refresh (R2) made then, whose fn fails, found R1
// owed a removal of the entry (memoShared.owed: R1 returns a result it did
// not store, begun before no ForgetAll whose own delete landed), and
// removed the Get's entry: a miss, the next Get computed again. The entry
// R1 was to replace is a miss everywhere once the retry has landed, as
// after a ForgetAll whose delete landed: nothing is owed. R1 still
// computing ("pending") or returned ("unstored") when R2's fn fails.
func TestMemoizeFailedRefreshKeepsGetAfterForgetAllRetryLanded(t *testing.T) {
	for _, returned := range []bool{false, true} {
		t.Run(map[bool]string{false: "pending", true: "unstored"}[returned], func(t *testing.T) {
			ctx := context.Background()
			env, next, r1, _ := newFailedForgetAllEnv(t)
			done, got := startRefresh(env, next, r1)
			refused := errors.New("remote: connection reset")
			env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
			t.Cleanup(env.h.offDelete)
			require.ErrorIs(t, env.m.ForgetAll(ctx), refused)
			env.h.offDelete()
			require.Eventually(t, func() bool { return env.m.c.Stats().PendingInvalidations == 0 },
				10*time.Second, time.Millisecond, "the retry of the generation's delete did not land")

			env.data.Store("newer") // read by the Get after the ForgetAll
			v, err := env.m.Get(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, "newer", v)

			r2 := newHeldCall(true)
			failed, _ := startRefresh(env, next, r2)
			if returned {
				close(r1.release)
				require.NoError(t, <-done)
				require.Equal(t, "new", got.Load())
			}
			close(r2.release)
			require.ErrorIs(t, <-failed, errDBTimeout)
			if !returned {
				close(r1.release)
				require.NoError(t, <-done)
				require.Equal(t, "new", got.Load())
			}

			env.data.Store("newest") // read only if the next Get computes
			v, err = env.m.Get(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, "newer", v, "R2's failure removed the entry of a Get made after the ForgetAll's retry landed")
		})
	}
}

// TestMemoizeSetSupersededByForgetAllDroppedAtClose: a ForgetAll made
// while a Set checks its epoch fails its delete of the generation, and the
// Cache is closed before the retry lands: Close's last attempt fails too,
// and it drops the delete (logged). The retry set no longer holding the
// generation, mayReplace took the delete for landed, and the Set stored
// nothing and returned nil, while another process sharing the backend was
// served the entry of before it ("old") until its TTL. A delete that
// Close dropped never landed: the Set's write is made.
func TestMemoizeSetSupersededByForgetAllDroppedAtClose(t *testing.T) {
	ctx := context.Background()
	s := newSimple(t, nil)
	env, _, _ := newSupersededEnv(t, func(_ *testing.T, h *setHook) backend.Backend {
		return remoteSetHooked{nopClose{&remote{Backend: s}}, h} // Close leaves s to m2
	}, "new")
	c2, err := New(&Options{Backend: nopClose{&remote{Backend: s}}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c2.Close() })
	m2 := Memoize(c2, "set-order", func(context.Context, int) (string, error) { return "computed by the other process", nil },
		TTL(time.Hour), ArgTags(func(int) []string { return []string{"t"} }))
	v, err := m2.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "old", v, "the other process reads the entry stored")

	refused := errors.New("remote: connection reset")
	env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
	t.Cleanup(env.h.offDelete)
	var once atomic.Bool
	mayReplaceHook = func(key string) {
		if key == env.key && once.CompareAndSwap(false, true) {
			assert.ErrorIs(t, env.m.ForgetAll(ctx), refused)
			assert.NoError(t, env.m.c.Close()) // its last attempt refused too: dropped
		}
	}
	t.Cleanup(func() { mayReplaceHook = nil })
	require.NoError(t, env.m.Set(ctx, 1, "set")) // its backend is not closed (nopClose)
	require.True(t, once.Load(), "the check was not made")
	v, err = m2.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "set", v, "Set returned nil, and another process is served the entry of before it")
}
