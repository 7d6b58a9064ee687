package caching

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestRefreshAheadHotKeyNeverMisses: a key asked for every 10 s is never a
// miss across five TTLs on any store: each hit within RefreshAhead of the
// expiry refreshes it in the background.
func TestRefreshAheadHotKeyNeverMisses(t *testing.T) {
	clock := testutil.NewClock()
	everyBackend(t, Options{Clock: clock.Now}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		var calls atomic.Int64
		m := Memoize(c, "hot", func(context.Context, int) (int64, error) { return calls.Add(1), nil },
			TTL(time.Minute), RefreshAhead(20*time.Second))
		var handled atomic.Int64
		h := c.Cached(time.Minute, RefreshAhead(20*time.Second), CacheStatusHeader("X-Cache"))(
			http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, "page #%d", handled.Add(1))
			}))

		_, err := m.Get(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "MISS", get(h, "/hot").Header().Get("X-Cache"))
		misses := c.Stats().Misses
		var last int64
		lastPage := "page #1"
		for range 30 { // five minutes: five TTLs
			clock.Advance(10 * time.Second)
			v, err := m.Get(ctx, 1)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, v, last, "never an older result")
			last = v
			w := get(h, "/hot")
			require.Equal(t, "HIT", w.Header().Get("X-Cache"), "at %v", clock.Now())
			lastPage = w.Body.String()
			c.wait() // the refreshes this hit started
		}
		st := c.Stats()
		assert.Equal(t, misses, st.Misses, "never a miss")
		assert.Zero(t, st.StaleHits)
		assert.GreaterOrEqual(t, calls.Load(), int64(6), "refreshed about every 40 s")
		assert.Equal(t, calls.Load()-1+handled.Load()-1, st.AheadRefreshes, "each refresh counted once")
		assert.NotEqual(t, "page #1", lastPage, "the page was refreshed too")
	})
}

// TestRefreshAheadConcurrentHotKey: many callers asking all the time, across
// several expiries, in fake time: no caller ever waits for the function,
// which runs once per refresh.
func TestRefreshAheadConcurrentHotKey(t *testing.T) {
	for _, remoteStore := range []bool{false, true} {
		t.Run(fmt.Sprint("remote=", remoteStore), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := &Options{Backend: newSimple(t, nil)}
				if remoteStore {
					opts.Backend = &remote{Backend: opts.Backend}
				}
				c := Must(opts)
				defer c.Close()
				var calls atomic.Int64
				m := Memoize(c, "hot", func(context.Context, int) (int64, error) {
					time.Sleep(time.Second) // the work takes time
					return calls.Add(1), nil
				}, TTL(time.Minute), RefreshAhead(10*time.Second))
				_, err := m.Get(t.Context(), 1)
				require.NoError(t, err)
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						for range 300 {
							time.Sleep(time.Second)
							_, err := m.Get(t.Context(), 1)
							assert.NoError(t, err)
						}
					})
				}
				wg.Wait()
				assert.Equal(t, int64(1), c.Stats().Misses, "the first call only")
				refreshes := c.Stats().AheadRefreshes
				assert.Equal(t, calls.Load()-1, refreshes)
				assert.LessOrEqual(t, refreshes, int64(7), "one refresh per key at a time")
			})
		})
	}
}

// TestRefreshAheadBounded: at most maxRefreshes refreshes of one function
// run at a time; hits past them start none.
func TestRefreshAheadBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var block atomic.Bool
		release := make(chan struct{})
		m := Memoize(c, "f", func(_ context.Context, x int) (int, error) {
			if block.Load() {
				<-release
			}
			return x, nil
		}, TTL(time.Minute), RefreshAhead(time.Minute)) // every hit is within d
		for i := range 20 {
			_, err := m.Get(t.Context(), i)
			require.NoError(t, err)
		}
		time.Sleep(20 * time.Second) // past a quarter of the TTL: see aheadDue
		block.Store(true)
		for i := range 20 {
			_, err := m.Get(t.Context(), i) // a hit, served at once
			require.NoError(t, err)
		}
		synctest.Wait()
		assert.Equal(t, int64(maxRefreshes), c.Stats().AheadRefreshes)
		close(release)
		c.wait()
	})
}

// TestStaleIf: a stored result that StaleIf declares stale is refreshed: at
// once without StaleWhileRevalidate, in the background with it.
func TestStaleIf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		ctx := t.Context()
		var current atomic.Int64 // the data's version
		current.Store(1)
		stale := StaleIf(func(v int64) bool { return v != current.Load() })
		now := Memoize(c, "now", func(context.Context, int) (int64, error) { return current.Load(), nil }, stale)
		swr := Memoize(c, "swr", func(context.Context, int) (int64, error) { return current.Load(), nil },
			stale, StaleWhileRevalidate(time.Minute))
		for _, m := range []*Memoized[int, int64]{now, swr} {
			v, err := m.Get(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, int64(1), v)
		}
		current.Store(2)
		v, err := now.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, int64(2), v, "computed again at once")
		v, err = swr.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v, "served stale while it refreshes")
		synctest.Wait()
		v, err = swr.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, int64(2), v, "refreshed in the background")
		st := c.Stats()
		assert.Equal(t, int64(1), st.StaleHits)
		assert.Equal(t, int64(3), st.Misses, "two first calls and the synchronous refresh")
	})
}

// TestCachedStaleIf: a view's StaleIf sees the stored response (with its
// Age) and can declare it stale.
func TestCachedStaleIf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var version atomic.Int64
		version.Store(1)
		var ages []time.Duration
		h := c.Cached(time.Hour, CacheStatusHeader("X-Cache"), StaleIf(func(r *Response) bool {
			ages = append(ages, r.Age)
			return r.Header.Get("X-Version") != fmt.Sprint(version.Load())
		}))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Version", fmt.Sprint(version.Load()))
			fmt.Fprint(w, "v", version.Load())
		}))
		assert.Equal(t, "MISS", get(h, "/").Header().Get("X-Cache"))
		time.Sleep(3 * time.Second)
		assert.Equal(t, "HIT", get(h, "/").Header().Get("X-Cache"))
		version.Store(2)
		w := get(h, "/")
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"), "declared stale: the handler runs")
		assert.Equal(t, "v2", w.Body.String())
		assert.Equal(t, "HIT", get(h, "/").Header().Get("X-Cache"))
		assert.Contains(t, ages, 3*time.Second)
	})
}

// TestStaleIfEveryStore: a result StaleIf declares stale is computed again,
// on every store, for a memoized function and for a view.
func TestStaleIfEveryStore(t *testing.T) {
	everyBackend(t, Options{}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		var version atomic.Int64
		version.Store(1)
		m := Memoize(c, "versioned", func(context.Context, int) (int64, error) { return version.Load(), nil },
			StaleIf(func(v int64) bool { return v != version.Load() }))
		h := c.Cached(time.Hour, CacheStatusHeader("X-Cache"), StaleIf(func(r *Response) bool {
			return string(r.Body) != fmt.Sprint("v", version.Load())
		}))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "v", version.Load()) }))

		_, err := m.Get(ctx, 1)
		require.NoError(t, err)
		get(h, "/")
		assert.Equal(t, "HIT", get(h, "/").Header().Get("X-Cache"))
		version.Store(2)
		v, err := m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, int64(2), v)
		w := get(h, "/")
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
		assert.Equal(t, "v2", w.Body.String())
		assert.Equal(t, "HIT", get(h, "/").Header().Get("X-Cache"), "the new response is stored")
		v, fresh, err := m.Peek(ctx, 1)
		require.NoError(t, err)
		assert.True(t, fresh)
		assert.Equal(t, int64(2), v)
	})
}
