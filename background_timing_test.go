package caching

import (
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/go-caching/caching/timing"
)

// metricNames are the names of ms, in order.
func metricNames(ms []timing.Metric) []string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names
}

// TestBackgroundRefreshRecordsNoTimingOfTheClient: a background refresh
// kept the context values of the request that started it, timing's
// recorder among them: the refresh's own metrics (the database time its
// handler or function records with timing.Add, Count or Start, as pool
// does) were counted in that client's Report, and in its Server-Timing
// when they came first, though its response was served from the stored
// entry, and came as it was being reported. The refresh now runs without
// the recorder (as code without the middleware does); the other values of
// the client's context (an authentication middleware's account) it keeps.
func TestBackgroundRefreshRecordsNoTimingOfTheClient(t *testing.T) {
	for _, mode := range refreshModes {
		for _, shared := range []bool{false, true} {
			name := mode.name
			if shared {
				name += "/SharedCache"
			}
			t.Run(name, func(t *testing.T) {
				forEachViewStore(t, func(t *testing.T, k storeKind) {
					synctest.Test(t, func(t *testing.T) {
						e := newViewEnv(t, k)
						var calls atomic.Int64
						// refreshed is sent once the refresh's handler recorded
						// its metric, with the account it read from the context.
						refreshed := make(chan any, 1)
						handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							timing.Add(r.Context(), "db", time.Millisecond, "")
							if calls.Add(1) > 1 {
								refreshed <- r.Context().Value(accountKey{})
							}
							w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
							_, _ = w.Write([]byte("page"))
						})
						opts := mode.opts
						if shared {
							opts = append([]ViewOption{SharedCache()}, opts...)
						}
						view := e.c.Cached(10*time.Second, append(opts, CacheStatusHeader("X-Cache"))...)(handler)
						// The client's report is read once the refresh's handler
						// recorded its metric: with the view's response served,
						// the middleware between them waits for it.
						var waitRefresh atomic.Bool
						reports := make(chan timing.Report, 1)
						h := timing.Must(timing.Options{Observe: func(rep timing.Report) { reports <- rep }})(
							http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
								r = r.WithContext(context.WithValue(r.Context(), accountKey{}, "alice"))
								view.ServeHTTP(w, r)
								if waitRefresh.Load() {
									assert.Equal(t, "alice", <-refreshed, "the refresh kept the client's other context values")
								}
							}))

						assert.Equal(t, "MISS", get(h, "/p").Header().Get("X-Cache"))
						assert.Equal(t, []string{"cache", "db"}, metricNames((<-reports).Metrics), "the miss's own")
						e.clock.Advance(mode.wait)
						waitRefresh.Store(true)
						w := get(h, "/p")
						require.Equal(t, "page", w.Body.String())
						rep := <-reports
						assert.False(t, slices.Contains(metricNames(rep.Metrics), "db"),
							"the refresh's metric reached the report of the client served %s: %v", w.Header().Get("X-Cache"), rep.Metrics)
						synctest.Wait()
					})
				})
			})
		}
	}
}

// TestMemoizeBackgroundRefreshRecordsNoTimingOfTheCaller is
// TestBackgroundRefreshRecordsNoTimingOfTheClient for Memoize: the
// refresh a stale hit starts records its fn's metrics in no caller's
// recorder, and keeps the caller's other context values.
func TestMemoizeBackgroundRefreshRecordsNoTimingOfTheCaller(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		synctest.Test(t, func(t *testing.T) {
			clock := testutil.NewClock()
			c, _ := k.open(t, nil, clock, Options{})
			defer c.Close()
			refreshed := make(chan any, 1)
			var calls atomic.Int64
			m := Memoize(c, "timing-refresh", func(ctx context.Context, a int) (int, error) {
				timing.Add(ctx, "db", time.Millisecond, "")
				if calls.Add(1) > 1 {
					refreshed <- ctx.Value(accountKey{})
				}
				return a, nil
			}, TTL(time.Minute), StaleWhileRevalidate(time.Hour))
			caller := func() context.Context {
				return timing.WithRecorder(context.WithValue(context.Background(), accountKey{}, "alice"))
			}
			first := caller()
			_, err := m.Get(first, 1)
			require.NoError(t, err)
			assert.Equal(t, []string{"db"}, metricNames(timing.Metrics(first)), "the miss's own")
			clock.Advance(2 * time.Minute)
			stale := caller()
			_, err = m.Get(stale, 1) // the stale hit; its refresh starts
			require.NoError(t, err)
			assert.Equal(t, "alice", <-refreshed, "the refresh kept the caller's other context values")
			assert.Empty(t, metricNames(timing.Metrics(stale)), "the refresh's metric reached the caller's recorder")
			synctest.Wait()
		})
	})
}
