package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeRefreshOfReplacedEntrySkipped: a stale hit (G1) reads the
// entry ("old"); before it takes the refresh slot, another stale hit (G2)
// starts a refresh that stores "new" and ends. G1 then took the free slot
// and ran fn once more for an entry already replaced (under load, once
// more per hot argument at each refresh). The refresh now reads the entry
// again as it starts, and computes nothing when it was stored since.
func TestMemoizeRefreshOfReplacedEntrySkipped(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			var stale atomic.Bool
			env := newSetOrderEnv(t, st.open, StaleWhileRevalidate(time.Hour),
				StaleIf(func(v string) bool { return stale.Load() && v == "old" }))
			var calls atomic.Int32
			env.call = func() (string, error) {
				calls.Add(1)
				return env.data.Load().(string), nil
			}
			env.data.Store("new")
			var once atomic.Bool
			memoRefreshAskedHook = func(key string) {
				if key != env.key || !once.CompareAndSwap(false, true) {
					return
				}
				// G2, between G1's read and its taking the slot.
				v, err := env.m.Get(ctx, 1)
				assert.NoError(t, err)
				assert.Equal(t, "old", v, "G2 served stale")
				awaitBackgroundDone(t, env)
				assertPeek(t, env, "new", "G2's refresh stores")
			}
			t.Cleanup(func() { memoRefreshAskedHook = nil })
			stale.Store(true)
			v, err := env.m.Get(ctx, 1)
			stale.Store(false)
			require.NoError(t, err)
			require.Equal(t, "old", v, "G1 served stale")
			require.True(t, once.Load(), "the hook ran")
			awaitBackgroundDone(t, env)
			assert.EqualValues(t, 1, calls.Load(), "fn ran again for an entry already replaced")
			assertPeek(t, env, "new", "the entry")
		})
	}
}

// TestMemoizeRefreshOfUnreplacedEntryRuns: the same refresh of an entry
// not stored again since (the one the hit read, or none: forgotten) runs
// fn and stores.
func TestMemoizeRefreshOfUnreplacedEntryRuns(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, forget := range []bool{false, true} {
				ctx := context.Background()
				var stale atomic.Bool
				env := newSetOrderEnv(t, st.open, StaleWhileRevalidate(time.Hour),
					StaleIf(func(v string) bool { return stale.Load() && v == "old" }))
				var calls atomic.Int32
				env.call = func() (string, error) {
					calls.Add(1)
					return env.data.Load().(string), nil
				}
				env.data.Store("new")
				var once atomic.Bool
				memoRefreshAskedHook = func(key string) {
					if forget && key == env.key && once.CompareAndSwap(false, true) {
						assert.NoError(t, env.m.Forget(ctx, 1))
					}
				}
				t.Cleanup(func() { memoRefreshAskedHook = nil })
				stale.Store(true)
				v, err := env.m.Get(ctx, 1)
				stale.Store(false)
				require.NoError(t, err)
				require.Equal(t, "old", v, "served stale")
				awaitBackgroundDone(t, env)
				assert.EqualValues(t, 1, calls.Load(), "the refresh ran fn (forgotten first: %v)", forget)
				assertPeek(t, env, "new", "the refresh stores")
			}
		})
	}
}
