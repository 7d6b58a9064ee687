package caching

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// refreshStores are the stores the refresh tests run on: in-process (Go
// values) and one that keeps bytes only, as a remote one does.
var refreshStores = []struct {
	name string
	new  func(t *testing.T) backend.Backend
}{
	{"simple", func(t *testing.T) backend.Backend { return newSimple(t, nil) }},
	{"remote", func(t *testing.T) backend.Backend { return &remote{Backend: newSimple(t, nil)} }},
}

// TestMemoizeRefreshRefusedResultRemovesEntry: Refresh "calls fn for a now
// and stores its result, replacing a's entry", and Set removes the entry of
// a result StoreIf/SkipZero refuses, "since it no longer holds a's result".
// Refresh (and RefreshIf) with a refused result left the older result in
// place: the count went to 0, Refresh returned 0, and Get kept serving 5
// for the whole TTL. Now the entry is removed: the next Get calls fn.
func TestMemoizeRefreshRefusedResultRemovesEntry(t *testing.T) {
	for _, st := range refreshStores {
		t.Run(st.name, func(t *testing.T) {
			c, err := New(&Options{Backend: st.new(t)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			ctx := context.Background()
			var count atomic.Int64
			count.Store(5)
			var forced atomic.Bool
			m := Memoize(c, "unread", func(context.Context, string) (int64, error) {
				return count.Load(), nil
			}, TTL(time.Hour), SkipZero(), RefreshIf(func(context.Context, string) bool { return forced.Load() }))

			v, err := m.Get(ctx, "alice")
			require.NoError(t, err)
			require.Equal(t, int64(5), v)

			count.Store(0) // the user read everything
			v, err = m.Refresh(ctx, "alice")
			require.NoError(t, err)
			require.Equal(t, int64(0), v)
			v, err = m.Get(ctx, "alice")
			require.NoError(t, err)
			assert.Equal(t, int64(0), v, "Get after Refresh returned 0 serves the replaced entry's 5")

			// Same with RefreshIf ("replace the stored entry").
			count.Store(7)
			_, _ = m.Refresh(ctx, "bob")
			count.Store(0)
			forced.Store(true)
			v, _ = m.Get(ctx, "bob")
			require.Equal(t, int64(0), v)
			forced.Store(false)
			v, _ = m.Get(ctx, "bob")
			assert.Equal(t, int64(0), v, "RefreshIf's call returned 0, the next Get serves 7")
		})
	}
}

// TestMemoizeRefreshRefusedByStoreIfOrResultTTL: a result that StoreIf or
// a negative ResultTTL refuses removes the entry Refresh replaces, as one
// SkipZero refuses does.
func TestMemoizeRefreshRefusedByStoreIfOrResultTTL(t *testing.T) {
	opts := map[string]MemoOption{
		"StoreIf":   StoreIf(func(r int) bool { return r >= 0 }),
		"ResultTTL": ResultTTL(func(r int) time.Duration { return time.Duration(r) * time.Hour }),
	}
	for _, st := range refreshStores {
		for name, opt := range opts {
			t.Run(st.name+"/"+name, func(t *testing.T) {
				c, err := New(&Options{Backend: st.new(t)})
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Close() })
				ctx := context.Background()
				var result atomic.Int64
				result.Store(1)
				m := Memoize(c, "f", func(context.Context, int) (int, error) { return int(result.Load()), nil }, TTL(time.Hour), opt)
				_, err = m.Get(ctx, 1)
				require.NoError(t, err)
				result.Store(-1) // refused
				v, err := m.Refresh(ctx, 1)
				require.NoError(t, err)
				require.Equal(t, -1, v)
				_, _, err = m.Peek(ctx, 1)
				assert.ErrorIs(t, err, ErrNotFound, "the replaced entry is removed")
				v, err = m.Get(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, -1, v)
			})
		}
	}
}

// TestMemoizeRefreshUnencodableResultRemovesEntry: a result the Codec
// cannot encode (JSON and a NaN) is returned by Refresh and not stored; the
// entry it was to replace is removed too, not served in its place.
func TestMemoizeRefreshUnencodableResultRemovesEntry(t *testing.T) {
	c, err := New(&Options{Backend: &remote{Backend: newSimple(t, nil)}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	var nan atomic.Bool
	m := Memoize(c, "f", func(context.Context, int) (float64, error) {
		if nan.Load() {
			return math.NaN(), nil
		}
		return 1.5, nil
	}, TTL(time.Hour))
	_, err = m.Get(ctx, 1)
	require.NoError(t, err)
	nan.Store(true)
	v, err := m.Refresh(ctx, 1)
	require.NoError(t, err)
	require.True(t, math.IsNaN(v))
	v, err = m.Get(ctx, 1)
	require.NoError(t, err)
	assert.True(t, math.IsNaN(v), "Get serves the entry Refresh was to replace: %v", v)
}

// TestMemoizeBackgroundRefreshRefusedResultRemovesEntry: a stale entry is
// served while a background call refreshes it (StaleWhileRevalidate); when
// that call's result is refused (SkipZero), the stale entry is removed
// rather than served again, and refreshed again, for the rest of the
// window: the next Get calls fn.
func TestMemoizeBackgroundRefreshRefusedResultRemovesEntry(t *testing.T) {
	for _, st := range refreshStores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := New(&Options{Backend: st.new(t)})
				require.NoError(t, err)
				defer c.Close()
				ctx := t.Context()
				var count, calls atomic.Int64
				count.Store(5)
				m := Memoize(c, "unread", func(context.Context, string) (int64, error) {
					calls.Add(1)
					return count.Load(), nil
				}, TTL(time.Minute), StaleWhileRevalidate(time.Hour), SkipZero())
				v, err := m.Get(ctx, "alice")
				require.NoError(t, err)
				require.Equal(t, int64(5), v)

				count.Store(0)
				time.Sleep(2 * time.Minute) // stale, within the window
				v, err = m.Get(ctx, "alice")
				require.NoError(t, err)
				require.Equal(t, int64(5), v, "stale value served at once")
				synctest.Wait() // the background refresh ran
				require.Equal(t, int64(2), calls.Load())

				v, err = m.Get(ctx, "alice")
				require.NoError(t, err)
				assert.Equal(t, int64(0), v, "the stale entry the refresh was to replace is served again")
			})
		})
	}
}

// TestMemoizeRefreshRefusedKeepsConcurrentSet: a Set made while Refresh's
// call runs is not removed when that call's result is refused: what is
// stored is Set's result, not the entry Refresh was to replace.
func TestMemoizeRefreshRefusedKeepsConcurrentSet(t *testing.T) {
	for _, st := range refreshStores {
		t.Run(st.name, func(t *testing.T) {
			c, err := New(&Options{Backend: st.new(t)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			ctx := context.Background()
			var block atomic.Bool
			started, release := make(chan struct{}), make(chan struct{})
			var count atomic.Int64
			count.Store(5)
			m := Memoize(c, "unread", func(context.Context, string) (int64, error) {
				if block.Load() {
					close(started)
					<-release
				}
				return count.Load(), nil
			}, TTL(time.Hour), SkipZero())
			_, err = m.Get(ctx, "alice")
			require.NoError(t, err)

			count.Store(0)
			block.Store(true)
			done := make(chan int64)
			go func() {
				v, _ := m.Refresh(ctx, "alice")
				done <- v
			}()
			<-started
			require.NoError(t, m.Set(ctx, "alice", 9))
			close(release)
			require.Equal(t, int64(0), <-done)
			block.Store(false)

			v, found, err := m.Peek(ctx, "alice")
			require.NoError(t, err, "Set's entry is removed")
			assert.True(t, found)
			assert.Equal(t, int64(9), v)
		})
	}
}
