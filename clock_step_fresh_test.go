package caching

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// settableClock is a Cache clock whose readings a test sets, monotonic
// readings included: a wall clock stepped back is a later reading made
// from an earlier one than a reading already handed out, across a
// testutil.Suspended (its wall an hour ahead, its monotonic the same).
type settableClock struct{ t atomic.Pointer[time.Time] }

func newSettableClock(t time.Time) *settableClock {
	c := new(settableClock)
	c.Set(t)
	return c
}

func (c *settableClock) Now() time.Time  { return *c.t.Load() }
func (c *settableClock) Set(t time.Time) { c.t.Store(&t) }

// steppedBackCache returns a Cache on an in-process store whose clock reads
// base with the wall clock an hour ahead: a reading set from base later
// (clock.Set) is one made after the wall clock was stepped back an hour.
func steppedBackCache(t *testing.T) (*Cache, *settableClock, time.Time) {
	base := time.Now()
	clock := newSettableClock(testutil.Suspended(t, base, time.Hour))
	c := Must(&Options{Backend: simple.Must(simple.Options{SweepInterval: -1}), Clock: clock.Now})
	t.Cleanup(func() { _ = c.Close() })
	return c, clock, base
}

// TestFreshAfterWallClockSteppedBack: an in-process entry with a stale
// window was fresh while the wall clock, compared with its end, had not
// reached it: a wall clock stepped back an hour after the write kept it
// fresh an hour past its TTL, served as a hit with no refresh (a view's
// with an Age past its max-age). Its freshness is now the time elapsed
// since its write, as its Age is: past its TTL, it is served stale and
// refreshed, and Peek reports it stale.
func TestFreshAfterWallClockSteppedBack(t *testing.T) {
	const ttl = 10 * time.Second
	setup := steppedBackCache

	t.Run("memoize", func(t *testing.T) {
		c, clock, base := setup(t)
		var runs atomic.Int64
		m := Memoize(c, "stepped", func(context.Context, int) (string, error) {
			return fmt.Sprintf("result #%d", runs.Add(1)), nil
		}, TTL(ttl), StaleWhileRevalidate(time.Minute))
		ctx := t.Context()
		v, err := m.Get(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "result #1", v)

		clock.Set(base.Add(ttl + time.Second)) // the wall clock stepped back an hour, ttl+1s later
		_, fresh, err := m.Peek(ctx, 1)
		require.NoError(t, err)
		assert.False(t, fresh, "Peek: fresh past its TTL")
		v, err = m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "result #1", v, "not served stale")
		assert.Equal(t, int64(1), c.Stats().StaleHits, "served as a hit past its TTL")
		require.Eventually(t, func() bool { return runs.Load() == 2 }, 5*time.Second, time.Millisecond, "no refresh")
	})

	t.Run("view", func(t *testing.T) {
		c, clock, base := setup(t)
		var runs atomic.Int64
		h := c.Cached(ttl, CacheStatusHeader("X-Cache"), StaleWhileRevalidate(time.Minute))(
			http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, "page #%d", runs.Add(1))
			}))
		require.Equal(t, "page #1", get(h, "/p").Body.String())

		clock.Set(base.Add(ttl + time.Second))
		w := get(h, "/p")
		assert.Equal(t, "page #1", w.Body.String())
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "served as a hit past its TTL")
		require.Eventually(t, func() bool { return runs.Load() == 2 }, 5*time.Second, time.Millisecond, "no revalidation")
	})
}

// TestViewStaleWindowsAfterWallClockSteppedBack: a view compared the wall
// clock with an in-process entry's end of freshness to tell how far past it
// the entry was, so a wall clock stepped back an hour after the write kept
// it within its StaleWhileRevalidate an hour longer (served stale, not
// run), and kept a SharedCache's RefreshAhead from ever finding it due.
// Both now count the time elapsed since the write, as its freshness does.
func TestViewStaleWindowsAfterWallClockSteppedBack(t *testing.T) {
	const ttl = 10 * time.Second
	for _, shared := range []bool{false, true} {
		name := map[bool]string{false: "private", true: "shared"}[shared]
		t.Run(name+"/past stale-while-revalidate", func(t *testing.T) {
			c, clock, base := steppedBackCache(t)
			var runs atomic.Int64
			opts := []ViewOption{CacheStatusHeader("X-Cache"), StaleWhileRevalidate(time.Minute), StaleIfError(time.Hour)}
			if shared {
				opts = append(opts, SharedCache())
			}
			h := c.Cached(ttl, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				// A shared view's stale windows are the response's.
				w.Header().Set("Cache-Control", "public, max-age=10, stale-while-revalidate=60, stale-if-error=3600")
				fmt.Fprintf(w, "page #%d", runs.Add(1))
			}))
			require.Equal(t, "page #1", get(h, "/p").Body.String())

			clock.Set(base.Add(ttl + 2*time.Minute)) // the wall clock stepped back an hour, past the window
			w := get(h, "/p")
			assert.Equal(t, "page #2", w.Body.String(), "served stale past StaleWhileRevalidate")
			assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
		})
	}

	t.Run("shared/refresh ahead", func(t *testing.T) {
		c, clock, base := steppedBackCache(t)
		var runs atomic.Int64
		h := c.Cached(ttl, CacheStatusHeader("X-Cache"), SharedCache(), RefreshAhead(4*time.Second))(
			http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=10")
				fmt.Fprintf(w, "page #%d", runs.Add(1))
			}))
		require.Equal(t, "page #1", get(h, "/p").Body.String())

		clock.Set(base.Add(ttl - 2*time.Second)) // within RefreshAhead of its end
		w := get(h, "/p")
		assert.Equal(t, "page #1", w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		require.Eventually(t, func() bool { return runs.Load() == 2 }, 5*time.Second, time.Millisecond, "no refresh ahead")
	})
}
