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
// backend.ErrClosed while the Cache is open (closedDeleteRefusals).
func TestMemoizeRefreshSupersededByFailedForgetAll(t *testing.T) {
	for _, refused := range closedDeleteRefusals {
		t.Run(refused.Error(), func(t *testing.T) {
			ctx := context.Background()
			env, next, r1, m2 := newFailedForgetAllEnv(t)
			done, got := startRefresh(env, next, r1)
			refuseGenDeleteWith(t, env, refused)
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
// Cache still open, which was never retried (retryInvalidation) and was
// taken for a delete whose retry had landed (memoShared.gone): the write
// was refused, or the entry removed, while the generation was never
// deleted. It is retried now, as any failure.
var closedDeleteRefusals = []error{
	errConnReset,
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
	return env, next, r1, newOtherProcess(t, s)
}

// newOtherProcess is another process's Memoized of newSetOrderEnv's name
// on s (which it does not close), which has read the entry stored
// ("old"). Its fn's result is "computed by the other process".
func newOtherProcess(t *testing.T, s backend.Backend) *Memoized[int, string] {
	t.Helper()
	c2, err := New(&Options{Backend: nopClose{&remote{Backend: s}}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c2.Close() })
	m2 := Memoize(c2, "set-order", func(context.Context, int) (string, error) { return "computed by the other process", nil },
		TTL(time.Hour), ArgTags(func(int) []string { return []string{"t"} }))
	v, err := m2.Get(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "old", v, "the other process reads the entry stored")
	return m2
}

// errConnReset is a remote store's failure of a delete.
var errConnReset = errors.New("remote: connection reset")

// refuseGenDelete makes env's deletes of its generation fail
// (errConnReset) until env.h.offDelete, which the test's end calls.
func refuseGenDelete(t *testing.T, env *setOrderEnv) { refuseGenDeleteWith(t, env, errConnReset) }

// refuseGenDeleteWith makes env's deletes of its generation fail with
// refused until env.h.offDelete, which the test's end calls.
func refuseGenDeleteWith(t *testing.T, env *setOrderEnv, refused error) {
	env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
	t.Cleanup(env.h.offDelete)
}

// forgetAllRetryLands makes a ForgetAll whose delete of the generation
// fails, and waits until the retry of that delete has landed.
func forgetAllRetryLands(t *testing.T, env *setOrderEnv) {
	t.Helper()
	forgetAllRetryLandsAfter(t, env, errConnReset)
}

// forgetAllRetryLandsAfter is forgetAllRetryLands, the delete failing with
// refused: the retry set holds it until the retry has landed.
func forgetAllRetryLandsAfter(t *testing.T, env *setOrderEnv, refused error) {
	t.Helper()
	refuseGenDeleteWith(t, env, refused)
	require.ErrorIs(t, env.m.ForgetAll(context.Background()), refused)
	assert.Equal(t, int64(1), env.m.c.Stats().PendingInvalidations, "the failed delete waits for its retry")
	env.h.offDelete()
	require.Eventually(t, func() bool { return env.m.c.Stats().PendingInvalidations == 0 },
		10*time.Second, time.Millisecond, "the retry of the generation's delete did not land")
}

// atMayReplace runs do once, in mayReplaceHook, at env's key's check, and
// returns whether it has run.
func atMayReplace(t *testing.T, env *setOrderEnv, do func()) *atomic.Bool {
	var once atomic.Bool
	mayReplaceHook = func(key string) {
		if key == env.key && once.CompareAndSwap(false, true) {
			do()
		}
	}
	t.Cleanup(func() { mayReplaceHook = nil })
	return &once
}

// requireGetComputes changes env's data to v and requires a Get of 1 to
// return it: a miss, which stores it.
func requireGetComputes(t *testing.T, env *setOrderEnv, v string) {
	t.Helper()
	env.data.Store(v)
	got, err := env.m.Get(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, v, got)
}

// assertGetHits asserts that a Get of 1 serves want, the entry stored:
// env's data, changed first, is read only by a Get that computes.
func assertGetHits(t *testing.T, env *setOrderEnv, want, msg string) {
	t.Helper()
	env.data.Store("computed again")
	v, err := env.m.Get(context.Background(), 1)
	require.NoError(t, err)
	assert.Equal(t, want, v, msg)
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
				refuseGenDeleteWith(t, env, refused)
				once := atMayReplace(t, env, func() { assert.ErrorIs(t, env.m.ForgetAll(ctx), refused) })
				require.NoError(t, tc.do(ctx, env))
				require.True(t, once.Load(), "the check was not made")
				v, err := m2.Get(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, tc.want, v, "%s returned nil, and another process is served the entry of before it", tc.name)
			})
		}
	}
}

// TestMemoizeSetAfterForgetAllRetryLanded: a ForgetAll made after a Set's
// supersede, before the Set reads its tag versions, fails its delete of the
// generation; the retry deletes it before the Set reads them. The Set then
// read a generation made after the ForgetAll's delete landed, and stored r
// under it: served, in every process, as if no ForgetAll had come after the
// Set, whereas had the ForgetAll's own delete landed the Set would have
// stored nothing (mayReplace). Now the Set stores nothing where the
// retry has landed when it decides, and removes the entry where it
// cannot tell: another ForgetAll whose delete failed too waits for its
// retry ("failed again"), which would end r only when it lands. So it is
// where the first ForgetAll's delete failed with backend.ErrClosed while
// the Cache is open (closedDeleteRefusals): retried, it lands too, and
// the Set, which that ForgetAll came after, stored r.
func TestMemoizeSetAfterForgetAllRetryLanded(t *testing.T) {
	for _, refused := range closedDeleteRefusals {
		for _, again := range []bool{false, true} {
			t.Run(refused.Error()+"/"+map[bool]string{false: "retry landed", true: "failed again"}[again], func(t *testing.T) {
				ctx := context.Background()
				env, _, _, m2 := newFailedForgetAllEnv(t)
				release := env.holdTags()
				t.Cleanup(release)
				done := make(chan error, 1)
				go func() { done <- env.m.Set(ctx, 1, "set") }()
				<-env.inTags // past Set's supersede, before its versions read

				forgetAllRetryLandsAfter(t, env, refused)
				if again {
					refuseGenDelete(t, env)
					require.ErrorIs(t, env.m.ForgetAll(ctx), errConnReset)
				}

				release()
				require.NoError(t, <-done)
				v, err := m2.Get(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, "computed by the other process", v, "the ForgetAll after the Set landed (retried): the Set's result is served")
			})
		}
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
	env, next, r1, _ := newFailedForgetAllEnv(t)
	done, got := startRefresh(env, next, r1)
	forgetAllRetryLands(t, env)
	requireGetComputes(t, env, "newer") // the Get after the ForgetAll
	close(r1.release)
	require.NoError(t, <-done)
	require.Equal(t, "new", got.Load())
	assertGetHits(t, env, "newer", "R1's write under the deleted generation replaced the later Get's entry")
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
			env, next, r1, _ := newFailedForgetAllEnv(t)
			done, got := startRefresh(env, next, r1)
			forgetAllRetryLands(t, env)
			requireGetComputes(t, env, "newer") // the Get after the ForgetAll

			r2 := newHeldCall(true)
			failed, _ := startRefresh(env, next, r2)
			r1Returns := func() {
				close(r1.release)
				require.NoError(t, <-done)
				require.Equal(t, "new", got.Load())
			}
			if returned {
				r1Returns()
			}
			close(r2.release)
			require.ErrorIs(t, <-failed, errDBTimeout)
			if !returned {
				r1Returns()
			}
			assertGetHits(t, env, "newer", "R2's failure removed the entry of a Get made after the ForgetAll's retry landed")
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
	m2 := newOtherProcess(t, s)

	refuseGenDelete(t, env)
	once := atMayReplace(t, env, func() {
		assert.ErrorIs(t, env.m.ForgetAll(ctx), errConnReset)
		assert.NoError(t, env.m.c.Close()) // its last attempt refused too: dropped
	})
	require.NoError(t, env.m.Set(ctx, 1, "set")) // its backend is not closed (nopClose)
	require.True(t, once.Load(), "the check was not made")
	v, err := m2.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "set", v, "Set returned nil, and another process is served the entry of before it")
}
