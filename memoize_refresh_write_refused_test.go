package caching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeRefusing is a remote store that refuses writes (Set) while
// refuseSet is set, as Redis does under maxmemory with noeviction ("OOM
// command not allowed"), while it still answers reads and deletes; and,
// for the other cases, deletes (refuseDelete) or the read of several keys
// at once, with which the tag versions are read (refuseGetMany).
type writeRefusing struct {
	*remote
	refuseSet, refuseDelete, refuseGetMany atomic.Bool
}

var errOOM = errors.New("OOM command not allowed when used memory > 'maxmemory'")

func (s *writeRefusing) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if s.refuseSet.Load() {
		return errOOM
	}
	return s.remote.Set(ctx, key, v, ttl)
}

func (s *writeRefusing) Delete(ctx context.Context, keys ...string) error {
	if s.refuseDelete.Load() {
		return errOOM
	}
	return s.remote.Delete(ctx, keys...)
}

func (s *writeRefusing) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if s.refuseGetMany.Load() {
		return nil, errDown
	}
	return s.remote.GetMany(ctx, keys)
}

// TestMemoizeRefreshWriteRefusedRemovesOldEntry: Refresh is what a job that
// updated the data calls, to replace a's entry with the new result. A
// result it could not store because the backend refused the write was
// swallowed (counted and logged), Refresh returned the new result and no
// error, and a's old entry was left in place: every Get served the result
// of the data before the update until its TTL ended (Forever: for good).
// The same for a versions read that failed before fn ran, and for a Get
// that RefreshIf forces. Now the old entry is removed; where the delete
// fails too, Refresh returns the error and this process's lookups miss
// until the retried delete lands.
func TestMemoizeRefreshWriteRefusedRemovesOldEntry(t *testing.T) {
	setup := func(t *testing.T) (*writeRefusing, *Memoized[int, string], *atomic.Value, *atomic.Bool) {
		rs := &writeRefusing{remote: &remote{Backend: newSimple(t, nil)}}
		c, err := New(&Options{Backend: rs, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		data := new(atomic.Value)
		data.Store("price 10")
		forced := new(atomic.Bool)
		m := Memoize(c, "price", func(_ context.Context, id int) (string, error) {
			return data.Load().(string), nil
		}, TTL(time.Hour), RefreshIf(func(context.Context, int) bool { return forced.Load() }))
		v, err := m.Get(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, "price 10", v)
		data.Store("price 12") // the update
		return rs, m, data, forced
	}
	ctx := context.Background()

	t.Run("write refused", func(t *testing.T) {
		rs, m, _, _ := setup(t)
		rs.refuseSet.Store(true)
		v, err := m.Refresh(ctx, 1)
		rs.refuseSet.Store(false)
		require.NoError(t, err, "the old entry was removed: nothing to report")
		assert.Equal(t, "price 12", v)
		got, err := m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "price 12", got, "Get after Refresh serves the entry of the data before the update")
	})

	t.Run("versions not read", func(t *testing.T) {
		rs, m, _, _ := setup(t)
		rs.refuseGetMany.Store(true)
		v, err := m.Refresh(ctx, 1)
		rs.refuseGetMany.Store(false)
		require.NoError(t, err)
		assert.Equal(t, "price 12", v)
		got, err := m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "price 12", got, "Get after Refresh serves the entry of the data before the update")
	})

	t.Run("forced Get, write refused", func(t *testing.T) {
		rs, m, _, forced := setup(t)
		rs.refuseSet.Store(true)
		forced.Store(true)
		v, err := m.Get(ctx, 1)
		forced.Store(false)
		rs.refuseSet.Store(false)
		require.NoError(t, err)
		assert.Equal(t, "price 12", v)
		got, err := m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "price 12", got, "Get after the forced Get serves the entry of the data before the update")
	})

	t.Run("write and delete refused", func(t *testing.T) {
		rs, m, _, _ := setup(t)
		rs.refuseSet.Store(true)
		rs.refuseDelete.Store(true)
		v, err := m.Refresh(ctx, 1)
		rs.refuseSet.Store(false)
		require.ErrorIs(t, err, errOOM, "the old entry may still be served by other processes: Refresh says so")
		assert.Equal(t, "price 12", v, "the result is returned with the error")
		// The delete is still refused: it waits for its retry, and this
		// process's lookups of the entry miss meanwhile.
		got, err := m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "price 12", got, "Get after Refresh serves the entry of the data before the update")
		rs.refuseDelete.Store(false)
	})
}

// TestMemoizeBackgroundRefreshWriteRefusedKeepsEntry: a background refresh
// (here StaleWhileRevalidate's) whose result the backend refuses to store
// leaves the entry it was to replace, unlike Refresh: nothing declared that
// entry out of date, its TTL and stale window still hold, and removing it
// under a backend that refuses writes would make every later Get a miss.
func TestMemoizeBackgroundRefreshWriteRefusedKeepsEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := &writeRefusing{remote: &remote{Backend: newSimple(t, nil)}}
		c, err := New(&Options{Backend: rs, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		defer c.Close()
		var calls atomic.Int64
		m := Memoize(c, "price", func(_ context.Context, id int) (string, error) {
			return fmt.Sprint("price ", 10+calls.Add(1)), nil
		}, TTL(time.Minute), StaleWhileRevalidate(time.Hour))
		ctx := context.Background()
		v, err := m.Get(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "price 11", v)

		time.Sleep(2 * time.Minute) // stale, within StaleWhileRevalidate
		rs.refuseSet.Store(true)
		v, err = m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "price 11", v, "the stale entry is served")
		synctest.Wait() // the background refresh ran, and its store failed
		require.Equal(t, int64(2), calls.Load(), "a background refresh ran")
		rs.refuseSet.Store(false)

		got, fresh, err := m.Peek(ctx, 1)
		require.NoError(t, err, "the entry is kept")
		assert.Equal(t, "price 11", got)
		assert.False(t, fresh)
	})
}
