package caching

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGetOrSetOtherTypeJoinersLoadOnce: GetOrSet[int] callers that joined
// a GetOrSet[string] load of the same key each ran their own int load once
// that load returned (10 callers, 10 loads), though GetOrSet promises one
// load for the concurrent callers of a key. Now they share one.
func TestGetOrSetOtherTypeJoinersLoadOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		stringLoading(ctx, c, release, func() (string, error) {
			return "text", nil
		}) // the string caller loads
		var loads atomic.Int64
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				v, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (int, error) {
					loads.Add(1)
					time.Sleep(50 * time.Millisecond)
					return 7, nil
				})
				require.NoError(t, err)
				require.Equal(t, 7, v)
			})
		}
		synctest.Wait() // the int callers joined the string load
		close(release)
		wg.Wait()
		require.EqualValues(t, 1, loads.Load(), "int loads for 10 concurrent int callers")
		v, err := GetAs[int](ctx, c, "k")
		require.NoError(t, err)
		require.Equal(t, 7, v)
	})
}

// getHook is a remote store that calls hook (once armed) after a Get of a
// key that finds a value, before returning that value.
type getHook struct {
	*remote
	mu   sync.Mutex
	hook func()
}

func (g *getHook) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := g.remote.Get(ctx, key)
	if err == nil {
		g.mu.Lock()
		hook := g.hook
		g.hook = nil
		g.mu.Unlock()
		if hook != nil {
			hook()
		}
	}
	return v, err
}

// TestGetOrSetOtherTypeKeepsSetAsMeanwhile: a GetOrSet[int] that joined a
// GetOrSet[string] load read the string that load stored and then loaded
// with no registered load: a SetAs of the key that returned between that
// read and its load was overwritten by the load's value. Now its load runs
// as the main path's does, registered before the key is read again, so
// that the SetAs supersedes it.
func TestGetOrSetOtherTypeKeepsSetAsMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		b := &getHook{remote: &remote{Backend: newSimple(t, nil)}}
		c, err := New(&Options{Backend: b})
		require.NoError(t, err)
		defer c.Close()
		release := make(chan struct{})
		stringLoading(ctx, c, release, func() (string, error) {
			return "text", nil
		}) // the string caller loads
		done := make(chan int, 1)
		go func() {
			v, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (int, error) { return 7, nil })
			require.NoError(t, err)
			done <- v
		}()
		synctest.Wait() // the int caller joined the string load
		// The next read that finds a value is the int caller's, of the
		// string: another caller sets the key just after it.
		b.mu.Lock()
		b.hook = func() { require.NoError(t, SetAs(ctx, c, "k", 9, time.Minute)) }
		b.mu.Unlock()
		close(release)
		v := <-done
		require.Contains(t, []int{7, 9}, v)
		stored, err := GetAs[int](ctx, c, "k")
		require.NoError(t, err)
		require.Equal(t, 9, stored, "the int load stored its value over the SetAs")
	})
}

// stringLoading starts a GetOrSet[string] of "k" on c whose load waits for
// release, then returns load(), and waits until it loads: the flight that
// a caller of another type then joins.
func stringLoading(ctx context.Context, c *Cache, release <-chan struct{}, load func() (string, error)) {
	go func() {
		_, _ = GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (string, error) {
			<-release
			return load()
		})
	}()
	synctest.Wait()
}
