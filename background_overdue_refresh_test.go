package caching

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stuckRoutes is a handler whose requests under /stuck/ never end once
// stuck is set, until release is closed: a hung dependency of their own.
// It counts the runs of each path, and the stuck runs in progress.
type stuckRoutes struct {
	stuck    atomic.Bool
	release  chan struct{}
	inflight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	runs     map[string]int
}

func newStuckRoutes() *stuckRoutes {
	return &stuckRoutes{release: make(chan struct{}), runs: map[string]int{}}
}

func (h *stuckRoutes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.runs[r.URL.Path]++
	n := h.runs[r.URL.Path]
	h.mu.Unlock()
	if h.stuck.Load() && strings.HasPrefix(r.URL.Path, "/stuck/") {
		in := h.inflight.Add(1)
		for p := h.peak.Load(); in > p && !h.peak.CompareAndSwap(p, in); p = h.peak.Load() {
		}
		<-h.release
		h.inflight.Add(-1)
	}
	fmt.Fprintf(w, "%s run %d", r.URL.Path, n)
}

func (h *stuckRoutes) runsOf(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.runs[path]
}

// stuckView returns a view of a stuckRoutes (TTL 1 s, stale for a day, as
// opts say more) whose entries /stuck/0 to /stuck/7 and /other are stale,
// and the first maxRefreshes have a refresh running, stuck. It runs in a
// synctest bubble; the Cache is closed, and the stuck runs released, when
// the test ends.
func stuckView(t *testing.T, opts ...ViewOption) (*stuckRoutes, http.Handler) {
	c := Must(nil)
	h := newStuckRoutes()
	t.Cleanup(func() {
		close(h.release)
		c.Close()
	})
	opts = append([]ViewOption{StaleWhileRevalidate(24 * time.Hour), CacheStatusHeader("X-Cache")}, opts...)
	v := c.Cached(time.Second, opts...)(h)
	for i := range maxRefreshes {
		get(v, fmt.Sprintf("/stuck/%d", i))
	}
	get(v, "/other")
	time.Sleep(2 * time.Second) // every entry is stale
	h.stuck.Store(true)
	for i := range maxRefreshes {
		assert.Equal(t, "STALE", get(v, fmt.Sprintf("/stuck/%d", i)).Header().Get("X-Cache"))
	}
	synctest.Wait()
	require.EqualValues(t, maxRefreshes, h.inflight.Load(), "every stuck entry's refresh runs, stuck")
	return h, v
}

// TestStuckRefreshesGiveTheirSlotsUp: maxRefreshes background refreshes
// whose handler never ends (a hung dependency) held every refresh slot of
// their view until the Cache was closed: no other entry of the view was
// refreshed again, each served stale for its window, then missed. A refresh
// that has run for the view's CollapseTimeout now gives its slot to the
// next refresh of another entry, and still keeps a second refresh of its
// own entry from starting.
func TestStuckRefreshesGiveTheirSlotsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, v := stuckView(t, CollapseTimeout(30*time.Second))

		assert.Equal(t, "STALE", get(v, "/other").Header().Get("X-Cache"))
		synctest.Wait()
		assert.Equal(t, 1, h.runsOf("/other"), "every slot is taken, by refreshes not overdue yet")

		time.Sleep(29 * time.Second)
		get(v, "/other")
		synctest.Wait()
		assert.Equal(t, 1, h.runsOf("/other"), "overdue after CollapseTimeout (30 s), not before")

		time.Sleep(time.Second)
		assert.Equal(t, "STALE", get(v, "/other").Header().Get("X-Cache"))
		synctest.Wait()
		assert.Equal(t, 2, h.runsOf("/other"), "an overdue refresh gave its slot to another entry's")
		w := get(v, "/other")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "/other run 2", w.Body.String(), "and the refresh stored")

		for i := range maxRefreshes {
			assert.Equal(t, "STALE", get(v, fmt.Sprintf("/stuck/%d", i)).Header().Get("X-Cache"))
		}
		synctest.Wait()
		for i := range maxRefreshes {
			assert.Equal(t, 2, h.runsOf(fmt.Sprintf("/stuck/%d", i)), "a stuck entry's refresh is not started twice")
		}
		assert.EqualValues(t, maxRefreshes, h.inflight.Load())
	})
}

// TestOverdueRefreshesBounded: the refreshes that gave their slot up are
// at most maxOverdueRefreshes per view (per route), so that a dependency
// that hangs every request leaves at most maxRefreshes +
// maxOverdueRefreshes goroutines behind; past that, the overdue refreshes
// keep their slots, and no stuck entry's refresh starts twice. Once they
// end, every slot is free again.
func TestOverdueRefreshesBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		h := newStuckRoutes()
		v := c.Cached(time.Second, StaleWhileRevalidate(24*time.Hour), CacheStatusHeader("X-Cache"))(h)
		const keys = maxRefreshes + maxOverdueRefreshes + 3*maxRefreshes
		path := func(i int) string { return fmt.Sprintf("/stuck/%d", i) }
		for i := range keys {
			get(v, path(i))
		}
		time.Sleep(2 * time.Second)
		h.stuck.Store(true)
		for range 2 * keys / maxRefreshes {
			for i := range keys {
				get(v, path(i))
			}
			synctest.Wait()
			time.Sleep(DefaultCollapseTimeout) // the refreshes started are overdue
		}
		assert.EqualValues(t, maxRefreshes+maxOverdueRefreshes, h.inflight.Load(), "refreshes running, stuck")
		assert.EqualValues(t, maxRefreshes+maxOverdueRefreshes, h.peak.Load(), "at most")
		started := 0
		for i := range keys {
			n := h.runsOf(path(i))
			assert.LessOrEqual(t, n, 2, "%s's refresh started twice", path(i))
			started += n - 1
		}
		assert.Equal(t, maxRefreshes+maxOverdueRefreshes, started)

		close(h.release)
		synctest.Wait()
		slots := &v.(*view).refreshSlots
		slots.mu.Lock()
		assert.Zero(t, slots.overdue, "overdue refreshes ended")
		assert.Equal(t, [maxRefreshes]refreshSlot{}, slots.held, "every slot free again")
		slots.mu.Unlock()
		for i := range keys {
			get(v, path(i))
			synctest.Wait()
		}
		for i := range keys {
			assert.Equal(t, 2, h.runsOf(path(i)), "%s refreshed once", path(i))
		}
	})
}

// TestStuckRefreshKeepsItsSlotUnderNegativeCollapseTimeout: a view whose
// requests wait as long as a run takes (a negative CollapseTimeout) makes
// no refresh overdue: a refresh holds its slot as long as it runs.
func TestStuckRefreshKeepsItsSlotUnderNegativeCollapseTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, v := stuckView(t, CollapseTimeout(-1))
		time.Sleep(time.Hour)
		get(v, "/other")
		synctest.Wait()
		assert.Equal(t, 1, h.runsOf("/other"), "no refresh is overdue")
	})
}

// TestMemoStuckRefreshesGiveTheirSlotsUp: Memoize's background refreshes
// had the same bound, maxRefreshes per function until the Cache closed;
// theirs are overdue after DefaultCollapseTimeout (plus the function's
// Lease), as those of a view without CollapseTimeout.
func TestMemoStuckRefreshesGiveTheirSlotsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, runsOf := memoStuckRefreshes(t)
		ctx := context.Background()
		_, _ = m.Get(ctx, memoStuckOther)
		synctest.Wait()
		assert.Equal(t, 1, runsOf(memoStuckOther), "every slot is taken, by refreshes not overdue yet")

		time.Sleep(DefaultCollapseTimeout)
		v, err := m.Get(ctx, memoStuckOther)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(memoStuckOther, " run 1"), v, "served stale")
		synctest.Wait()
		assert.Equal(t, 2, runsOf(memoStuckOther), "an overdue refresh gave its slot to another argument's")
		v, _ = m.Get(ctx, memoStuckOther)
		assert.Equal(t, fmt.Sprint(memoStuckOther, " run 2"), v)

		for a := range maxRefreshes {
			_, _ = m.Get(ctx, a)
		}
		synctest.Wait()
		for a := range maxRefreshes {
			assert.Equal(t, 2, runsOf(a), "a stuck argument's refresh is not started twice")
		}
	})
}

// TestMemoStuckRefreshesFollowCollapseTimeout: a function's
// CollapseTimeout is the bound past which its refreshes are overdue, as a
// view's is: a shorter one makes them overdue sooner, a negative one
// (wait as long as a computation takes) never.
func TestMemoStuckRefreshesFollowCollapseTimeout(t *testing.T) {
	t.Run("shorter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, runsOf := memoStuckRefreshes(t, CollapseTimeout(time.Second))
			time.Sleep(time.Second)
			_, _ = m.Get(context.Background(), memoStuckOther)
			synctest.Wait()
			assert.Equal(t, 2, runsOf(memoStuckOther), "overdue after the function's CollapseTimeout")
		})
	})
	t.Run("negative", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, runsOf := memoStuckRefreshes(t, CollapseTimeout(-1))
			time.Sleep(30 * time.Minute) // within the stale window
			_, _ = m.Get(context.Background(), memoStuckOther)
			synctest.Wait()
			assert.Equal(t, 1, runsOf(memoStuckOther), "no refresh is overdue")
		})
	})
}

// memoStuckOther is the argument of memoStuckRefreshes' function whose
// refresh finds every slot taken.
const memoStuckOther = 100

// memoStuckRefreshes returns a memoized function (with opts) whose
// arguments 0 to maxRefreshes-1 are stale and refreshing, each refresh
// stuck until the test ends, and memoStuckOther stale, its refresh not yet
// asked for; runsOf counts an argument's computations.
func memoStuckRefreshes(t *testing.T, opts ...MemoOption) (m *Memoized[int, string], runsOf func(int) int) {
	c := Must(nil)
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before Close: the refreshes end
	var stuck atomic.Bool
	var mu sync.Mutex
	runs := map[int]int{}
	m = Memoize(c, "stuck-refreshes", func(_ context.Context, a int) (string, error) {
		mu.Lock()
		runs[a]++
		n := runs[a]
		mu.Unlock()
		if stuck.Load() && a < maxRefreshes {
			<-release
		}
		return fmt.Sprint(a, " run ", n), nil
	}, append([]MemoOption{TTL(time.Second), StaleWhileRevalidate(time.Hour)}, opts...)...)
	runsOf = func(a int) int {
		mu.Lock()
		defer mu.Unlock()
		return runs[a]
	}
	for a := range maxRefreshes {
		_, err := m.Get(ctx, a)
		require.NoError(t, err)
	}
	_, err := m.Get(ctx, memoStuckOther)
	require.NoError(t, err)
	time.Sleep(2 * time.Second)
	stuck.Store(true)
	for a := range maxRefreshes {
		v, err := m.Get(ctx, a)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(a, " run 1"), v, "served stale")
	}
	synctest.Wait()
	return m, runsOf
}

// TestRefreshSlotsAccounting: take gives the slot of the oldest refresh
// once it is overdue, as long as fewer than maxOverdueRefreshes are; give
// frees a slot, or an overdue place, whichever its refresh holds.
func TestRefreshSlotsAccounting(t *testing.T) {
	var s refreshSlots
	t0 := time.Unix(1000, 0)
	const bound = time.Second
	var ids []uint64
	for i := range maxRefreshes {
		id, ok := s.take(t0.Add(time.Duration(i)), bound)
		require.True(t, ok)
		ids = append(ids, id)
	}
	_, ok := s.take(t0.Add(bound-1), bound)
	require.False(t, ok, "none overdue yet")
	id, ok := s.take(t0.Add(bound), bound)
	require.True(t, ok, "the oldest is overdue")
	ids = append(ids, id)
	assert.Equal(t, 1, s.overdue)
	_, ok = s.take(t0.Add(bound), bound)
	require.False(t, ok, "the second oldest started 1ns later")
	_, ok = s.take(t0.Add(time.Hour), 0)
	require.False(t, ok, "a bound of 0 makes none overdue")
	for i := 0; len(ids) < maxRefreshes+maxOverdueRefreshes; i++ {
		id, ok := s.take(t0.Add(time.Hour+time.Duration(i)*bound), bound) // the one before is overdue already
		require.True(t, ok)
		ids = append(ids, id)
	}
	assert.Equal(t, maxOverdueRefreshes, s.overdue)
	_, ok = s.take(t0.Add(3*time.Hour), bound)
	require.False(t, ok, "the overdue ones are at their bound")
	s.give(ids[0]) // overdue
	id, ok = s.take(t0.Add(3*time.Hour), bound)
	require.True(t, ok, "an overdue one ended")
	ids = append(ids, id)
	for _, id := range ids[1:] {
		s.give(id)
	}
	assert.Zero(t, s.overdue)
	assert.Equal(t, [maxRefreshes]refreshSlot{}, s.held)
}
