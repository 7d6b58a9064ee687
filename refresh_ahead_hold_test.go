package caching

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestRefreshAheadHoldOutlivesStaleRefreshWithoutSlot: a stale entry's
// refresh that finds every refresh slot taken runs nothing, and leaves the
// backoff of a failed RefreshAhead refresh as it was: once the slots are
// free again, a hit within the backoff starts no RefreshAhead refresh.
func TestRefreshAheadHoldOutlivesStaleRefreshWithoutSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var failing, blocking, stale atomic.Bool
		var runs atomic.Int64
		release := make(chan struct{})
		h := c.Cached(aheadTTL, RefreshAhead(aheadWindow), StaleWhileRevalidate(time.Minute),
			StaleIf(func(*Response) bool { return stale.Load() }))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/block/") {
					if blocking.Load() {
						<-release
					}
					fmt.Fprint(w, "other")
					return
				}
				n := runs.Add(1)
				if failing.Load() {
					http.Error(w, "down", http.StatusServiceUnavailable)
					return
				}
				fmt.Fprintf(w, "page #%d", n)
			}))
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		for i := range maxRefreshes {
			get(h, fmt.Sprintf("/block/%d", i))
		}
		time.Sleep(aheadTTL - aheadWindow + time.Second) // due, all of them
		failing.Store(true)
		require.Equal(t, "page #1", get(h, "/p").Body.String())
		synctest.Wait()
		require.Equal(t, int64(2), runs.Load(), "the RefreshAhead refresh failed: held")

		blocking.Store(true)
		for i := range maxRefreshes {
			get(h, fmt.Sprintf("/block/%d", i)) // takes every slot
		}
		synctest.Wait()
		stale.Store(true)
		require.Equal(t, "page #1", get(h, "/p").Body.String(), "served stale; its refresh finds no slot")
		stale.Store(false)
		close(release)
		synctest.Wait() // the slots are free

		require.Equal(t, "page #1", get(h, "/p").Body.String())
		synctest.Wait()
		assert.Equal(t, int64(2), runs.Load(), "a hit within the backoff refreshed")
	})
}

// TestRefreshAheadHoldLeavesMiss: a memoized function's argument whose
// RefreshAhead refresh failed is held off only for RefreshAhead's
// refreshes: once Forget removes it, the next call computes at once, and
// the result it stores is served.
func TestRefreshAheadHoldLeavesMiss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		m, o := memoizeFailing(c, "hold-miss", TTL(aheadTTL), RefreshAhead(aheadWindow))
		fail, runs := &o.fail, &o.runs
		ctx := t.Context()
		_, err := m.Get(ctx, 1)
		require.NoError(t, err)
		time.Sleep(aheadTTL - aheadWindow + time.Second) // due
		fail.Store(true)
		_, err = m.Get(ctx, 1)
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, int64(2), runs.Load(), "the refresh failed: held")
		fail.Store(false)
		require.NoError(t, m.Forget(ctx, 1))
		v, err := m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "result #3", v, "the miss computed within the backoff")
	})
}

// TestRefreshAheadHeldHitAllocatesNothing: a memoized function's hit
// within RefreshAhead while its refresh is held off allocates nothing, as
// one while its refresh runs; a view's allocates no more than one while
// its refresh runs.
func TestRefreshAheadHeldHitAllocatesNothing(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var fail atomic.Bool
		release := make(chan struct{})
		var blocking atomic.Bool
		var runs atomic.Int64
		m := Memoize(c, "held-alloc", func(_ context.Context, n int) (int, error) {
			runs.Add(1)
			if fail.Load() {
				return 0, errors.New("origin down")
			}
			return n, nil
		}, TTL(aheadTTL), RefreshAhead(aheadWindow))
		h := c.Cached(aheadTTL, RefreshAhead(aheadWindow))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			runs.Add(1)
			if blocking.Load() {
				<-release
			}
			if fail.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("page"))
		}))
		ctx := context.Background()
		r := httptest.NewRequest(http.MethodGet, "/p", nil)
		w := &internalHeaderWriter{h: http.Header{}}
		viewHit := func() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
		_, err = m.Get(ctx, 4)
		require.NoError(t, err)
		viewHit()
		time.Sleep(aheadTTL - aheadWindow + time.Second) // due

		blocking.Store(true)
		viewHit() // starts the refresh, which blocks
		synctest.Wait()
		running := testutil.AllocsPerRun(50, viewHit)
		blocking.Store(false)
		close(release)
		_, _ = m.Get(ctx, 4) // a refresh of its own, which stores
		synctest.Wait()

		time.Sleep(aheadTTL - aheadWindow + time.Second) // due again
		fail.Store(true)
		_, _ = m.Get(ctx, 4)
		viewHit()
		synctest.Wait() // both refreshes failed: held
		before := runs.Load()
		assert.Zero(t, testutil.AllocsPerRun(50, func() { _, _ = m.Get(ctx, 4) }), "a memoized hit while held")
		assert.LessOrEqual(t, testutil.AllocsPerRun(50, viewHit), running, "a view's hit while held")
		synctest.Wait()
		assert.Equal(t, before, runs.Load(), "the hits were held off")
	})
}

// internalHeaderWriter is a ResponseWriter whose header map is reused.
type internalHeaderWriter struct{ h http.Header }

func (w *internalHeaderWriter) Header() http.Header         { return w.h }
func (w *internalHeaderWriter) WriteHeader(int)             {}
func (w *internalHeaderWriter) Write(p []byte) (int, error) { return len(p), nil }

// TestRefreshAheadHoldTimerLeavesRunningRefresh: the timer of a hold that
// a stale entry's refresh took the place of, firing while that refresh
// runs, leaves it the only refresh of its key: a stale hit then starts no
// second one, in a view as in a memoized function.
func TestRefreshAheadHoldTimerLeavesRunningRefresh(t *testing.T) {
	for _, kind := range []string{"view", "memoize"} {
		t.Run(kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				var fail, block, stale atomic.Bool
				var runs atomic.Int64
				release := make(chan struct{})
				run := func() (string, error) {
					n := runs.Add(1)
					if block.Load() {
						<-release
					}
					if fail.Load() {
						return "", errors.New("origin down")
					}
					return fmt.Sprintf("result #%d", n), nil
				}
				// The refreshes that start, each of which reads the entry
				// again: a memoized one that joined a computation of its key
				// would run nothing more.
				var started atomic.Int64
				memoRefreshCheckedHook = func(string, bool) { started.Add(1) }
				defer func() { refreshAskedHook, memoRefreshCheckedHook = nil, nil }()
				var hit func() string
				if kind == "view" {
					h := c.Cached(aheadTTL, RefreshAhead(aheadWindow), StaleWhileRevalidate(time.Minute),
						StaleIf(func(*Response) bool { return stale.Load() }))(
						http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
							s, err := run()
							if err != nil {
								http.Error(w, "down", http.StatusServiceUnavailable)
								return
							}
							fmt.Fprint(w, s)
						}))
					hit = func() string { return get(h, "/p").Body.String() }
				} else {
					m := Memoize(c, "hold-aba", func(context.Context, int) (string, error) { return run() },
						TTL(aheadTTL), RefreshAhead(aheadWindow), StaleWhileRevalidate(time.Minute),
						StaleIf(func(string) bool { return stale.Load() }))
					hit = func() string {
						v, err := m.Get(t.Context(), 1)
						require.NoError(t, err)
						return v
					}
				}
				require.Equal(t, "result #1", hit())
				time.Sleep(aheadTTL - aheadWindow + time.Second) // due
				fail.Store(true)
				hit()
				synctest.Wait()
				require.Equal(t, int64(2), runs.Load(), "the RefreshAhead refresh failed: held")

				block.Store(true)
				stale.Store(true)
				require.Equal(t, "result #1", hit(), "served stale")
				synctest.Wait()
				require.Equal(t, int64(3), runs.Load(), "the stale refresh took the hold's place, and runs")
				time.Sleep(aheadBackoff(aheadWindow) + time.Millisecond)
				synctest.Wait() // the hold's timer fired
				hit()
				synctest.Wait()
				assert.Equal(t, int64(3), runs.Load(), "a second refresh of the key ran beside the first")
				if kind == "memoize" {
					assert.Equal(t, int64(2), started.Load(), "a second refresh of the key started beside the first")
				}
				close(release)
			})
		})
	}
}
