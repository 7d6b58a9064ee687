package caching

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// TestNotifyAfterTellsEvictionsOnPanic: GetOrSet's, a fragment's and a
// view's stores called Evictions.Notify after their write without a
// defer, so a panic between the write and the Notify lost the OnEvict
// reports of what the write had evicted. notifyAfter, which they share,
// tells them on every way out, and only once save has returned (the
// caller's lock released), the panic going on after.
func TestNotifyAfterTellsEvictionsOnPanic(t *testing.T) {
	for _, panics := range []bool{false, true} {
		name := "returns"
		if panics {
			name = "panics"
		}
		t.Run(name, func(t *testing.T) {
			s, toldNow := onEvictLogStore(t, 1)
			require.NoError(t, s.StoreValue("a", 1, 8, 0))
			var during []string
			run := func() {
				notifyAfter(func(evicted *simple.Evictions) {
					ev, err := s.StoreValueDeferred("b", 2, 8, 0)
					require.NoError(t, err)
					*evicted = evicted.Join(ev)
					during = toldNow()
					if panics {
						panic("handler")
					}
				})
			}
			if panics {
				assert.PanicsWithValue(t, "handler", run)
			} else {
				run()
			}
			assert.Empty(t, during, "OnEvict told before save returned")
			assert.Equal(t, []string{"a"}, toldNow(), "OnEvict reports of the write")
		})
	}
}

// onEvictLogStore returns a backend/simple store of one shard holding at
// most maxEntries entries, and what its OnEvict was told so far.
func onEvictLogStore(t *testing.T, maxEntries int) (*simple.Store, func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		told []string
	)
	s, err := simple.New(simple.Options{MaxEntries: maxEntries, Shards: 1, SweepInterval: -1, OnEvict: func(key string) {
		mu.Lock()
		told = append(told, key)
		mu.Unlock()
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), told...)
	}
}
