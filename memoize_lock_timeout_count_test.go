package caching

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeLockTimeoutCountedOnce: a computation whose wait for its
// key's write lock timed out (a write of the key hung) was counted twice in
// Stats.Errors, as a failed store ("memoize set") and as a failed delete
// ("memoize delete"), though no delete was made: the delete is retried in
// the background. It counts once now.
func TestMemoizeLockTimeoutCountedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = time.Second
		ctx := context.Background()
		c, err := New(&Options{Backend: &remote{Backend: newSimple(t, nil)}, Timeout: timeout,
			Breaker: BreakerOptions{Threshold: -1}, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		m := Memoize(c, "lock-timeout-count", func(context.Context, int) (string, error) { return "v", nil })
		key, err := m.Key(1)
		require.NoError(t, err)
		// A write of key that does not end within the Refresh's Timeout.
		held := m.shared.epochOf(key)
		require.NoError(t, m.shared.lockWrite(ctx, &held, 0))
		_, err = m.Refresh(ctx, 1)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Refresh: %v", err)
		}
		assert.Equal(t, int64(1), c.Stats().Errors, "one wait for the lock timed out")
		m.shared.unlockWrite(&held)
		m.shared.done(&held)
		require.NoError(t, c.Close())
	})
}
