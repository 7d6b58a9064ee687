package caching

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// versionChurn is a remote backend on which, while races is above zero,
// the version key key is deleted just after an Add of it fails (a ForgetAll
// of another caller between the failed add and the read that follows it)
// and given held again just after a read of it misses (another caller
// creating it meanwhile), each once per race.
type versionChurn struct {
	backend.Backend
	key   string
	held  []byte
	races atomic.Int64
}

func (b *versionChurn) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	added, err := b.Backend.Add(ctx, key, v, ttl)
	if err == nil && !added && key == b.key && b.races.Load() > 0 {
		if err := b.Backend.Delete(ctx, key); err != nil {
			return false, err
		}
	}
	return added, err
}

func (b *versionChurn) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := b.Backend.Get(ctx, key)
	if errors.Is(err, backend.ErrNotFound) && key == b.key && b.races.Add(-1) >= 0 {
		if _, err := b.Backend.Add(ctx, key, b.held, 0); err != nil {
			return nil, err
		}
	}
	return v, err
}

// Regression: TestMemoizeLaterCallWins/redis failed under load with "a tag
// version key holds something that is not a version", from a Set. Its keys
// are its own (their prefix has the run's time in nanoseconds), and the key
// held nothing: the Set found its function's generation missing, its add
// of a new one failed (another call had created it), then its read missed
// (a ForgetAll had deleted it), twice in a row. The generation was
// invalidated while the Set ran: the Set now writes under a version the
// key does not hold, which makes its entry a miss, and returns no error.
// (Get and Refresh fail open, and stored nothing.)
func TestMemoizeSetVersionDeletedTwiceBetweenAddAndRead(t *testing.T) {
	ctx := context.Background()
	b := &versionChurn{Backend: &remote{Backend: newSimple(t, nil)}}
	c, err := New(&Options{Backend: b, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	var calls atomic.Int64
	m := Memoize(c, "churn", func(context.Context, int) (string, error) {
		calls.Add(1)
		return "computed", nil
	}, TTL(time.Hour))
	_, err = m.Get(ctx, 1)
	require.NoError(t, err)
	b.key = m.genKey
	b.held, err = b.Backend.Get(ctx, m.genKey)
	require.NoError(t, err)
	require.NoError(t, m.ForgetAll(ctx))

	b.races.Store(3) // the first read's miss, then two adds and reads
	require.NoError(t, m.Set(ctx, 1, "set"), "a generation deleted twice while the Set ran")
	require.Zero(t, b.races.Load(), "set-up: the key was not deleted twice")

	// The entry written under a version the key does not hold is a miss:
	// the next Get computes.
	before := calls.Load()
	v, err := m.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "computed", v, "an entry written under a version the key does not hold was served")
	require.Equal(t, before+1, calls.Load())
}
