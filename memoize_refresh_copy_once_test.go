package caching

import (
	"context"
	"math/big"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refreshCopyArg is an argument whose copy is partial (N is keyed by its
// own method, *big.Int's MarshalText), so that making it calls ArgTags:
// the tests count copies by ArgTags calls.
type refreshCopyArg struct {
	IDs []string
	N   *big.Int
}

// TestMemoizeConcurrentStaleHitsCopyOnce: the argument is copied "for each
// refresh a hit starts (a hit that starts none copies nothing)". The hits
// that came while the first one was still copying (the moment a popular
// entry goes stale) each copied it too, then found the refresh slot taken
// and dropped their copy: 8 concurrent stale hits made 8 copies for one
// refresh. The slot is taken before the copy now. ArgTags, called once
// per copy, stands for a copy that takes time.
func TestMemoizeConcurrentStaleHitsCopyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var tagCalls, runs atomic.Int32
		slow := make(chan struct{})
		slowOn := false
		m := Memoize(c, "stale-concurrent-copy", func(ctx context.Context, a refreshCopyArg) (int, error) {
			runs.Add(1)
			return len(a.IDs), nil
		}, TTL(time.Minute), StaleWhileRevalidate(time.Hour),
			ArgTags(func(a refreshCopyArg) []string {
				tagCalls.Add(1)
				if slowOn {
					<-slow // a copy that takes a while
				}
				return []string{"n:" + a.N.String()}
			}))
		ctx := context.Background()
		arg := refreshCopyArg{IDs: []string{"a", "b"}, N: big.NewInt(7)}
		_, err = m.Get(ctx, arg)
		require.NoError(t, err)
		time.Sleep(2 * time.Minute) // stale, within StaleWhileRevalidate
		tagCalls.Store(0)
		runs.Store(0)
		slowOn = true
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { _, _ = m.Get(ctx, arg) })
		}
		synctest.Wait() // every hit is in ArgTags, copying, or done
		copies := tagCalls.Load()
		close(slow)
		wg.Wait()
		synctest.Wait()
		assert.EqualValues(t, 1, copies, "copies of the argument made by 8 stale hits for 1 refresh")
		assert.EqualValues(t, 1, runs.Load(), "refreshes run for 8 stale hits")
	})
}

// TestMemoizeRefreshSlotReleasedWhenCopyFails: the refresh slot, taken
// before the argument is copied, is given back when the copy fails: when
// ArgTags panics (logged, the hit served) and when it calls
// runtime.Goexit (the hit's goroutine ends). The next stale hit starts
// the refresh.
func TestMemoizeRefreshSlotReleasedWhenCopyFails(t *testing.T) {
	for _, how := range []string{"panic", "goexit"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := New(&Options{})
				require.NoError(t, err)
				defer c.Close()
				var runs atomic.Int32
				var fail atomic.Bool
				m := Memoize(c, "stale-copy-fails-"+how, func(ctx context.Context, a refreshCopyArg) (int, error) {
					runs.Add(1)
					return len(a.IDs), nil
				}, TTL(time.Minute), StaleWhileRevalidate(time.Hour),
					ArgTags(func(a refreshCopyArg) []string {
						if fail.Load() {
							if how == "panic" {
								panic("tags")
							}
							runtime.Goexit()
						}
						return []string{"n:" + a.N.String()}
					}))
				ctx := context.Background()
				arg := refreshCopyArg{IDs: []string{"a", "b"}, N: big.NewInt(7)}
				_, err = m.Get(ctx, arg)
				require.NoError(t, err)
				time.Sleep(2 * time.Minute) // stale, within StaleWhileRevalidate
				runs.Store(0)
				fail.Store(true)
				done := make(chan struct{})
				go func() {
					defer close(done)
					_, _ = m.Get(ctx, arg)
				}()
				<-done
				synctest.Wait()
				require.Zero(t, runs.Load(), "a refresh whose copy failed ran")
				fail.Store(false)
				v, err := m.Get(ctx, arg)
				require.NoError(t, err)
				assert.Equal(t, 2, v)
				synctest.Wait()
				assert.EqualValues(t, 1, runs.Load(), "the next stale hit started no refresh: the slot was kept")
			})
		})
	}
}
