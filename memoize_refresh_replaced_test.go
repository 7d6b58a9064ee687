package caching

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
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
			env, stale, calls := newRefreshReplacedEnv(t, st.open)
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
			require.Equal(t, "old", getStale(t, env, stale), "G1 served stale")
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
				env, stale, calls := newRefreshReplacedEnv(t, st.open)
				var once atomic.Bool
				memoRefreshAskedHook = func(key string) {
					if forget && key == env.key && once.CompareAndSwap(false, true) {
						assert.NoError(t, env.m.Forget(context.Background(), 1))
					}
				}
				require.Equal(t, "old", getStale(t, env, stale), "served stale")
				awaitBackgroundDone(t, env)
				assert.EqualValues(t, 1, calls.Load(), "the refresh ran fn (forgotten first: %v)", forget)
				assertPeek(t, env, "new", "the refresh stores")
			}
		})
	}
}

// newRefreshReplacedEnv is newSetOrderEnv whose entry ("old") is stale
// while the flag returned is set (staleWhile), whose data is "new", and
// whose fn counts its calls. It clears memoRefreshAskedHook at the test's
// end.
func newRefreshReplacedEnv(t *testing.T, open func(t *testing.T, h *setHook) backend.Backend) (*setOrderEnv, *atomic.Bool, *atomic.Int32) {
	t.Helper()
	stale, calls := new(atomic.Bool), new(atomic.Int32)
	env := newSetOrderEnv(t, open, staleWhile(stale, "old")...)
	env.call = func() (string, error) {
		calls.Add(1)
		return env.data.Load().(string), nil
	}
	env.data.Store("new")
	t.Cleanup(func() { memoRefreshAskedHook = nil })
	return env, stale, calls
}
