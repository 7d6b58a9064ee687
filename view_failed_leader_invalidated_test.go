package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// TestFailedLeaderWaiterInvalidated: a waiter whose own lookup found a stale
// entry, and whose leader's handler then failed (viewResult.failed), served
// that entry without asking whether it was invalidated while it waited: a
// tag or path invalidation, a Delete of its key or a Clear made after its
// lookup and before the leader failed. A request that came after the
// invalidation misses the entry; the waiter, answered after it, must not be
// served it either: it runs its own handler, as a request without an entry
// does, and gets the page the handler makes now. Without an invalidation,
// it is still answered with its entry (also where it reads it again from a
// remote store).
func TestFailedLeaderWaiterInvalidated(t *testing.T) {
	ctx := context.Background()
	for _, flow := range failedLeaderFlows {
		for _, inv := range []struct {
			name string
			do   func(c *Cache) error
		}{
			{"none", nil}, // the waiter is answered stale, as before
			{"InvalidateTags", func(c *Cache) error { return c.InvalidateTags(ctx, "items") }},
			{"InvalidatePath", func(c *Cache) error { return c.InvalidatePath(ctx, "/p") }},
			{"Delete", func(c *Cache) error {
				key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), flow.opts...)
				if err != nil {
					return err
				}
				return c.Backend().Delete(ctx, key)
			}},
			{"Clear", func(c *Cache) error { return c.Clear(ctx) }},
		} {
			for _, failure := range []string{"panic", "500"} {
				for _, remoteStore := range []bool{false, true} {
					name := flow.name + "/" + inv.name + "/" + failure
					if remoteStore {
						name += "/remote"
					}
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							var b backend.Backend = newSimple(t, nil)
							if remoteStore {
								b = &remote{Backend: b}
							}
							w, runs := staleWaiterOfFailedLeader(t, &Options{Backend: b}, failure, flow.opts, flow.cc, func(c *Cache) {
								if inv.do != nil {
									require.NoError(t, inv.do(c))
								}
							})
							if inv.do == nil {
								assert.Equal(t, "page", w.Body.String())
								assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
								assert.Equal(t, int64(2), runs, "the waiter runs no handler of its own")
								return
							}
							assert.Equal(t, "new page", w.Body.String(), "the waiter was served the entry invalidated while it waited (X-Cache: %s)", w.Header().Get("X-Cache"))
							assert.Equal(t, http.StatusOK, w.Code)
							assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
						})
					})
				}
			}
		}
	}
}

// TestFailedLeaderWaiterWindowJudgedLate: a waiter's stale entry answers the
// failure of the run it waited for only within its stale window as judged
// when it is answered, by the Cache's clock, as the failure of its own run
// would be: it was judged at its lookup, so a waiter that waited past the
// window (StaleIfError; in a SharedCache view the response's
// stale-if-error, the entry kept longer for revalidation, its ETag) was
// served an entry that neither its own run's failure nor a request made
// then would get. Within the window it still is.
func TestFailedLeaderWaiterWindowJudgedLate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ttl   time.Duration
		opts  []ViewOption
		cc    string        // the handler's Cache-Control
		wait  time.Duration // the clock's advance while the waiter waits (its lookup: 5 s past fresh)
		stale bool          // still within the window: served stale
	}{
		{"default/within", 10 * time.Second, []ViewOption{StaleIfError(time.Minute)}, "", 20 * time.Second, true},
		{"default/past", 10 * time.Second, []ViewOption{StaleIfError(time.Minute)}, "", 60 * time.Second, false},
		// The ETag keeps the entry the view's ttl past its freshness, for
		// revalidation: the lookup still finds it past the window.
		{"shared/within", time.Hour, []ViewOption{StaleIfError(5 * time.Minute), SharedCache()}, "max-age=10, stale-if-error=30", 10 * time.Second, true},
		{"shared/past", time.Hour, []ViewOption{StaleIfError(5 * time.Minute), SharedCache()}, "max-age=10, stale-if-error=30", 30 * time.Second, false},
	} {
		for _, failure := range []string{"panic", "500"} {
			t.Run(tc.name+"/"+failure, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					joined := onWaiterJoined(t)
					clock := testutil.NewClock()
					c := Must(&Options{Backend: newSimple(t, clock), Clock: clock.Now})
					defer c.Close()
					var runs atomic.Int64
					hold := make(chan struct{})
					h := c.Cached(tc.ttl, append([]ViewOption{CacheStatusHeader("X-Cache")}, tc.opts...)...)(failingLeaderOrigin(&runs, hold, failure, tc.cc))
					require.Equal(t, "page", get(h, "/p").Body.String())
					clock.Advance(15 * time.Second) // stale, within its window
					w := waiterOfFailedLeader(h, joined, hold, func() { clock.Advance(tc.wait) })
					if tc.stale {
						assert.Equal(t, "page", w.Body.String())
						assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
						return
					}
					assert.Equal(t, "new page", w.Body.String(), "the waiter was served its entry past its window (X-Cache: %s)", w.Header().Get("X-Cache"))
					assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
				})
			})
		}
	}
}

// failedLeaderFlows are the views of the invalidation tests of a failed
// leader's waiter: the default flow and SharedCache, each with a tag and
// with stale-if-error for a minute past 10 s of freshness.
var failedLeaderFlows = []struct {
	name string
	opts []ViewOption
	cc   string // the handler's Cache-Control
}{
	{"default", []ViewOption{StaleIfError(time.Minute), Tags("items")}, ""},
	{"shared", []ViewOption{StaleIfError(time.Minute), SharedCache(), Tags("items")}, "max-age=10, stale-if-error=60"},
}

// staleWaiterOfFailedLeader stores /p in a view (opts, the handler's
// Cache-Control cc) of a failingLeaderOrigin, over a Cache of o, in a
// synctest bubble; once it is stale within stale-if-error, it returns the
// response of a waiter of its failed leader (waiterOfFailedLeader, with
// meanwhile) and how many times the handler ran.
func staleWaiterOfFailedLeader(t *testing.T, o *Options, failure string, opts []ViewOption, cc string, meanwhile func(c *Cache)) (*httptest.ResponseRecorder, int64) {
	joined := onWaiterJoined(t)
	c := Must(o)
	defer c.Close()
	var runs atomic.Int64
	hold := make(chan struct{})
	h := c.Cached(10*time.Second, append([]ViewOption{CacheStatusHeader("X-Cache")}, opts...)...)(failingLeaderOrigin(&runs, hold, failure, cc))
	require.Equal(t, "page", get(h, "/p").Body.String())
	time.Sleep(15 * time.Second) // stale, within stale-if-error
	w := waiterOfFailedLeader(h, joined, hold, func() { meanwhile(c) })
	return w, runs.Load()
}

// failingLeaderOrigin is the handler of a stale key's failed leader: its
// first run answers "page" (with cc, when set, and an ETag), its second
// (the leader's) waits until hold is closed and fails (a panic, or a 500),
// and the others answer "new page"; runs counts them.
func failingLeaderOrigin(runs *atomic.Int64, hold <-chan struct{}, failure, cc string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		switch runs.Add(1) {
		case 1:
			w.Header().Set("ETag", `"v1"`)
			w.Write([]byte("page"))
			return
		case 2:
			<-hold // the leader's run, while the waiter joins it
			if failure == "panic" {
				panic("the origin broke")
			}
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("ETag", `"v2"`)
		w.Write([]byte("new page"))
	})
}

// waiterOfFailedLeader sends a leader of /p to h (a view of a
// failingLeaderOrigin, in a synctest bubble), then a waiter that joins its
// run; once the waiter waits, meanwhile runs, and the leader's run is let
// fail (hold closed). It returns the waiter's response, once the leader's
// is sent too.
func waiterOfFailedLeader(h http.Handler, joined <-chan string, hold chan struct{}, meanwhile func()) *httptest.ResponseRecorder {
	leader := make(chan int, 1)
	go func() { leader <- sendRecovered(h, http.MethodGet, "/p").Code }()
	synctest.Wait() // the leader's handler runs
	waiter := make(chan *httptest.ResponseRecorder, 1)
	go func() { waiter <- get(h, "/p") }()
	<-joined
	synctest.Wait() // the waiter, its stale entry found, waits for the run
	meanwhile()
	close(hold)
	<-leader
	return <-waiter
}

// TestFailedLeaderWaiterUnreadInvalidated: a waiter of a failed leader whose
// read of its stale entry fails (the remote store went down) keeps the entry
// (fail open), but not past what its process knows without the store: an
// invalidation of its own that succeeded while the waiter waited, a Clear
// begun then, or one of the entry's tags whose invalidation failed and waits
// for its retry. It served the entry all the same; a request made then,
// whose lookup fails, has no entry to serve. It runs its own handler now.
// With none of those, the entry is still served.
func TestFailedLeaderWaiterUnreadInvalidated(t *testing.T) {
	ctx := context.Background()
	for _, flow := range failedLeaderFlows {
		for _, inv := range []struct {
			name string
			do   func(c *Cache, r *remote)
		}{
			{"none", func(_ *Cache, r *remote) { r.fail.Store(true) }}, // served stale
			{"InvalidateTags", func(c *Cache, r *remote) {
				require.NoError(t, c.InvalidateTags(ctx, "items"))
				r.fail.Store(true)
			}},
			{"InvalidateTags/failed", func(c *Cache, r *remote) {
				r.fail.Store(true)
				require.Error(t, c.InvalidateTags(ctx, "items")) // waits for its retry
			}},
			{"Clear", func(c *Cache, r *remote) {
				require.NoError(t, c.Clear(ctx))
				r.fail.Store(true)
			}},
		} {
			for _, failure := range []string{"panic", "500"} {
				t.Run(flow.name+"/"+inv.name+"/"+failure, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						r := &remote{Backend: newSimple(t, nil)}
						// A breaker that never opens: the reads meet the store.
						o := &Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}}
						w, runs := staleWaiterOfFailedLeader(t, o, failure, flow.opts, flow.cc, func(c *Cache) { inv.do(c, r) })
						if inv.name == "none" {
							assert.Equal(t, "page", w.Body.String())
							assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
							assert.Equal(t, int64(2), runs, "the waiter runs no handler of its own")
							return
						}
						assert.Equal(t, "new page", w.Body.String(), "the waiter was served the entry its process invalidated while it waited (X-Cache: %s)", w.Header().Get("X-Cache"))
						assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
					})
				})
			}
		}
	}
}
