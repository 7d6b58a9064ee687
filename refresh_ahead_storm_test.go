package caching

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRefreshAheadShortLifetime: an entry whose freshness is shorter than
// RefreshAhead's d (a SharedCache response that comes with an Age near
// its max-age, as from a CDN or a cache in front of the origin; a TTL at or
// under d) is not refreshed by every hit: every hit was within d of its
// end, and each started a run of the handler or function, whose result
// was again as short-lived, so that a hot key cost one run per hit, far
// more than without RefreshAhead (one per lifetime). It is refreshed once
// a quarter of its lifetime has passed.
func TestRefreshAheadShortLifetime(t *testing.T) {
	// hits asks for the key every 10 ms for a second, then waits for the
	// refreshes those hits started.
	hits := func(e *viewEnv, ask func()) {
		for range 100 {
			e.clock.Advance(10 * time.Millisecond)
			ask()
			synctest.Wait()
		}
	}
	for _, k := range viewStores {
		t.Run(k.name, func(t *testing.T) {
			t.Run("SharedCache Age", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					e := newViewEnv(t, k)
					h := &counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
						// Fresh for 10 s more: an upstream cache's copy.
						w.Header().Set("Cache-Control", "max-age=60")
						w.Header().Set("Age", "50")
					}}
					ch := e.sharedView(h, RefreshAhead(30*time.Second))
					get(ch, "/a")
					hits(e, func() { get(ch, "/a") })
					assert.EqualValues(t, 1, h.calls.Load(), "100 hits within the entry's first second: the origin asked once")
					e.clock.Advance(2 * time.Second) // past a quarter of its 10 s
					hits(e, func() { get(ch, "/a") })
					assert.EqualValues(t, 2, h.calls.Load(), "then refreshed once")
					assert.EqualValues(t, 1, e.c.Stats().AheadRefreshes)
				})
			})
			t.Run("view TTL under d", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					e := newViewEnv(t, k)
					h := &counter{body: "b"}
					ch := e.c.Cached(10*time.Second, RefreshAhead(30*time.Second))(h)
					get(ch, "/a")
					hits(e, func() { get(ch, "/a") })
					assert.EqualValues(t, 1, h.calls.Load(), "100 hits within the entry's first second: the handler ran once")
					e.clock.Advance(2 * time.Second)
					hits(e, func() { get(ch, "/a") })
					assert.EqualValues(t, 2, h.calls.Load(), "then refreshed once")
				})
			})
			t.Run("Memoize TTL under d", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					e := newViewEnv(t, k)
					var calls atomic.Int64
					m := Memoize(e.c, "short", func(context.Context, int) (int64, error) { return calls.Add(1), nil },
						TTL(10*time.Second), RefreshAhead(30*time.Second))
					ask := func() {
						if _, err := m.Get(t.Context(), 1); err != nil {
							t.Fatal(err)
						}
					}
					ask()
					hits(e, ask)
					assert.EqualValues(t, 1, calls.Load(), "100 hits within the entry's first second: computed once")
					e.clock.Advance(2 * time.Second)
					hits(e, ask)
					assert.EqualValues(t, 2, calls.Load(), "then refreshed once")
				})
			})
		})
	}
}
