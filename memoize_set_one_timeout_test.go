package caching

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangingWrites is a remote store whose Sets and Deletes hang until their
// context ends while hang is set (a backend that has stopped answering
// writes); reads answer at once.
type hangingWrites struct {
	backend.Backend
	hang atomic.Bool
}

func (h *hangingWrites) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if h.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.Backend.Set(ctx, key, v, ttl)
}

func (h *hangingWrites) Delete(ctx context.Context, keys ...string) error {
	if h.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.Backend.Delete(ctx, keys...)
}

// TestMemoizeSetOnHungBackendTakesOneTimeout: each step of a Set on a
// remote store was bounded by an Options.Timeout of its own: the wait for
// a write of its argument in progress, its store, and, where it superseded
// a Refresh still computing (whose result is then not stored), the delete
// of the entry of before that Refresh after its store failed, or after its
// wait for the lock did (a wait for the lock again, then the delete). On a
// backend whose writes hang, a Set took two or three Timeouts where the
// Timeout's documentation promises one. The whole call now has one
// deadline: a delete it leaves is retried in the background, and until it
// lands this process does not serve the entry of before the Refresh.
//
// Under testing/synctest: the clock is the bubble's, so that the time a Set
// takes is exact, whatever the machine's load.
func TestMemoizeSetOnHungBackendTakesOneTimeout(t *testing.T) {
	const timeout = time.Second
	cases := []struct {
		name string
		// hold is how long a write of the argument (the test's hold of its
		// write lock) is in progress when Set begins; 0: none.
		hold time.Duration
	}{
		{"store and delete hang", 0},
		{"behind a write in progress", timeout / 2},
		{"its wait for the lock times out", timeout * 3 / 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				b := &hangingWrites{Backend: newSimple(t, nil)}
				c, err := New(&Options{Backend: b, Timeout: timeout, Breaker: BreakerOptions{Threshold: -1},
					Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, err)
				release := make(chan struct{})
				var computing atomic.Bool
				m := Memoize(c, "set-one-timeout", func(ctx context.Context, a int) (string, error) {
					if computing.Load() {
						<-release
						return "refreshed", nil
					}
					return "old", nil
				})
				key, err := m.Key(1)
				require.NoError(t, err)
				got, err := m.Get(ctx, 1)
				require.NoError(t, err)
				require.Equal(t, "old", got)

				// A Refresh computing, which Set supersedes: its result is
				// not stored, and the entry of before it is owed a delete
				// if Set's store fails.
				computing.Store(true)
				refreshed := make(chan error, 1)
				go func() {
					_, err := m.Refresh(ctx, 1)
					refreshed <- err
				}()
				synctest.Wait()

				b.hang.Store(true)
				var unlocked <-chan struct{}
				if tc.hold > 0 {
					unlocked = holdWriteFor(t, m, key, tc.hold)
				}
				requireOneTimeout(t, "Set", timeout, func() error { return m.Set(ctx, 1, "set") })

				// The entry of before the Refresh is not served: its delete
				// is pending, and this process's lookups of key miss.
				_, _, err = m.Peek(ctx, 1)
				assert.ErrorIs(t, err, ErrNotFound, "the entry of before the Refresh superseded is served")

				b.hang.Store(false)
				close(release)
				if unlocked != nil {
					<-unlocked
				}
				require.NoError(t, <-refreshed)
				require.NoError(t, c.Close())
			})
		})
	}
}

// TestMemoizeForgetOnHungBackendTakesOneTimeout: Forget's wait for a write
// of its argument in progress and its delete were each bounded by an
// Options.Timeout of their own: behind a write that lasted half a Timeout,
// a Forget on a backend whose deletes hang took one and a half. One
// deadline bounds the call now; the delete is retried in the background,
// and this process's lookups miss until it lands.
func TestMemoizeForgetOnHungBackendTakesOneTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = time.Second
		ctx := context.Background()
		b := &hangingWrites{Backend: newSimple(t, nil)}
		c, err := New(&Options{Backend: b, Timeout: timeout, Breaker: BreakerOptions{Threshold: -1},
			Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		m := Memoize(c, "forget-one-timeout", func(context.Context, int) (string, error) { return "old", nil })
		key, err := m.Key(1)
		require.NoError(t, err)
		_, err = m.Get(ctx, 1)
		require.NoError(t, err)

		b.hang.Store(true)
		unlocked := holdWriteFor(t, m, key, timeout/2) // a write of the argument
		requireOneTimeout(t, "Forget", timeout, func() error { return m.Forget(ctx, 1) })
		_, _, err = m.Peek(ctx, 1)
		assert.ErrorIs(t, err, ErrNotFound, "the entry forgotten is served")

		<-unlocked
		b.hang.Store(false)
		require.NoError(t, c.Close())
	})
}

// holdWriteFor takes key's write lock, as a write of it in progress does,
// and releases it after d (in a synctest bubble, once its clock has
// advanced by d): the channel returned is closed then.
func holdWriteFor(t *testing.T, m *Memoized[int, string], key string, d time.Duration) <-chan struct{} {
	t.Helper()
	held := m.shared.epochOf(key)
	require.NoError(t, m.shared.lockWrite(context.Background(), &held, 0))
	unlocked := make(chan struct{})
	go func() {
		time.Sleep(d)
		m.shared.unlockWrite(&held)
		m.shared.done(&held)
		close(unlocked)
	}()
	return unlocked
}

// requireOneTimeout requires call (what, on a backend whose writes hang)
// to fail with context.DeadlineExceeded within timeout, read on the clock
// of the synctest bubble it runs in, which moves only when every
// goroutine in it waits: not a measure of speed.
func requireOneTimeout(t *testing.T, what string, timeout time.Duration, call func() error) {
	t.Helper()
	start := time.Now()
	err := call()
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	t.Logf("%s on a backend whose writes hang, Timeout %v: %v", what, timeout, took)
	assert.LessOrEqual(t, took, timeout, "%s took more than one Timeout", what)
}
