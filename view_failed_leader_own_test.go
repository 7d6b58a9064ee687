package caching

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestFailedLeaderOwnStaleRechecked: a leader whose handler failed (a
// panic, or a 5xx) served the stale entry its lookup found however long
// its handler took: an invalidation made while it ran (InvalidateTags,
// InvalidatePath, a Delete of its key, a Clear), or a handler slow enough
// to take the entry past its stale-if-error window, did not stop it, where
// its waiters, answered at the same moment, read the entry again and judge
// its window then (failedAnswer). The leader now does what they do: it gets
// its failure as a request without the entry would (the 500 as the
// handler made it; the panic), is served the entry only while it still
// answers that failure, and a newer fresh entry stored meanwhile by
// another process as a HIT.
func TestFailedLeaderOwnStaleRechecked(t *testing.T) {
	ctx := context.Background()
	for _, flow := range failedLeaderFlows {
		for _, tc := range failedOwnCases(ctx, flow.opts, flow.cc) {
			for _, failure := range []string{"panic", "500"} {
				for _, remoteStore := range []bool{false, true} {
					name := flow.name + "/" + tc.name + "/" + failure
					if remoteStore {
						name += "/remote"
					}
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							var b backend.Backend = newSimple(t, nil)
							if remoteStore {
								b = &remote{Backend: b}
							}
							w, runs := failedLeaderOwn(t, &Options{Backend: b}, failure, flow.opts, flow.cc, func(c *Cache) { tc.do(t, c, b) })
							assert.Equal(t, int64(2), runs)
							assertFailedLeaderAnswer(t, w, failure, tc.want)
						})
					})
				}
			}
		}
	}
}

// TestFailedLeaderOwnUnreadInvalidated: a failed leader whose read of its
// stale entry fails (the remote store went down while its handler ran)
// keeps the entry (fail open), but not past what its process knows without
// the store, as its waiters judge it: an invalidation of its own that
// succeeded meanwhile, a Clear begun then, or one of the entry's tags whose
// invalidation failed and waits for its retry.
func TestFailedLeaderOwnUnreadInvalidated(t *testing.T) {
	ctx := context.Background()
	for _, flow := range failedLeaderFlows {
		for _, tc := range []struct {
			name string
			do   func(t *testing.T, c *Cache, r *remote)
			want string
		}{
			{"none", func(_ *testing.T, _ *Cache, r *remote) { r.fail.Store(true) }, "STALE"},
			{"InvalidateTags", func(t *testing.T, c *Cache, r *remote) {
				require.NoError(t, c.InvalidateTags(ctx, "items"))
				r.fail.Store(true)
			}, ""},
			{"InvalidateTags/failed", func(t *testing.T, c *Cache, r *remote) {
				r.fail.Store(true)
				require.Error(t, c.InvalidateTags(ctx, "items")) // waits for its retry
			}, ""},
			{"Clear", func(t *testing.T, c *Cache, r *remote) {
				require.NoError(t, c.Clear(ctx))
				r.fail.Store(true)
			}, ""},
		} {
			for _, failure := range []string{"panic", "500"} {
				t.Run(flow.name+"/"+tc.name+"/"+failure, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						r := &remote{Backend: newSimple(t, nil)}
						// A breaker that never opens: the reads meet the store.
						o := &Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}}
						w, runs := failedLeaderOwn(t, o, failure, flow.opts, flow.cc, func(c *Cache) { tc.do(t, c, r) })
						assert.Equal(t, int64(2), runs)
						assertFailedLeaderAnswer(t, w, failure, tc.want)
					})
				})
			}
		}
	}
}

// assertFailedLeaderAnswer asserts that w, the response of a stale key's
// leader whose handler failed (failingLeaderOrigin), is want: "STALE" the
// stale entry, "HIT" the newer entry another process stored, "" the
// failure as a request without the entry gets it (the 500, or the panic:
// sendRecovered's 599).
func assertFailedLeaderAnswer(t *testing.T, w *httptest.ResponseRecorder, failure, want string) {
	t.Helper()
	switch want {
	case "STALE":
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "page", w.Body.String())
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
	case "HIT":
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "other page", w.Body.String(), "X-Cache: %s", w.Header().Get("X-Cache"))
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	default:
		code := http.StatusInternalServerError
		if failure == "panic" {
			code = 599 // the panic reached the request
		}
		assert.Equal(t, code, w.Code, "the leader was served %q (X-Cache: %s), not its failure", w.Body.String(), w.Header().Get("X-Cache"))
		assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
	}
}

// failedLeaderOwn stores /p in a view (opts, the handler's Cache-Control cc)
// of a failingLeaderOrigin over a Cache of o, in a synctest bubble; once it
// is stale within stale-if-error, a request of /p leads a run, meanwhile
// runs while its handler does, and the handler fails. It returns the
// leader's response (sendRecovered's) and how many times the handler ran.
func failedLeaderOwn(t *testing.T, o *Options, failure string, opts []ViewOption, cc string, meanwhile func(c *Cache)) (*httptest.ResponseRecorder, int64) {
	return failedLeaderOwnOf(t, http.MethodGet, o, failure, opts, cc, meanwhile)
}

// failedLeaderOwnOf is failedLeaderOwn for a leader of method (GET, HEAD).
func failedLeaderOwnOf(t *testing.T, method string, o *Options, failure string, opts []ViewOption, cc string, meanwhile func(c *Cache)) (*httptest.ResponseRecorder, int64) {
	c := Must(o)
	defer c.Close()
	var runs atomic.Int64
	hold := make(chan struct{})
	h := c.Cached(10*time.Second, append([]ViewOption{CacheStatusHeader("X-Cache")}, opts...)...)(failingLeaderOrigin(&runs, hold, failure, cc))
	require.Equal(t, "page", get(h, "/p").Body.String())
	time.Sleep(15 * time.Second) // stale, within stale-if-error
	leader := make(chan *httptest.ResponseRecorder, 1)
	go func() { leader <- sendRecovered(h, method, "/p") }()
	synctest.Wait() // the leader's handler runs
	meanwhile(c)
	close(hold)
	return <-leader, runs.Load()
}

// TestFailedLeaderRereadFailureCounted: the read of a failed run's stale
// entry again (failedAnswer), by its leader and by each waiter, was silent
// when it failed, where a lookup's failure is counted: a backend error in
// Stats.Errors and the view's Counts.Errors, and logged ("backend error,
// serving uncached"); a corrupt entry, deleted, in the view's
// Counts.Corrupt as in Stats.Corrupt. Each is counted once, as a lookup's
// is. The entry is still served (fail open) after a backend error.
func TestFailedLeaderRereadFailureCounted(t *testing.T) {
	for _, flow := range failedLeaderFlows {
		for _, failure := range []string{"panic", "500"} {
			t.Run(flow.name+"/down/"+failure, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var logs bytes.Buffer
					r := &remote{Backend: newSimple(t, nil)}
					joined := onWaiterJoined(t)
					// A breaker that never opens: the reads meet the store.
					c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
					defer c.Close()
					var runs atomic.Int64
					hold := make(chan struct{})
					h := c.Cached(10*time.Second, append([]ViewOption{CacheStatusHeader("X-Cache"), Name("p")}, flow.opts...)...)(failingLeaderOrigin(&runs, hold, failure, flow.cc))
					require.Equal(t, "page", get(h, "/p").Body.String())
					time.Sleep(15 * time.Second) // stale, within stale-if-error
					w := waiterOfFailedLeader(h, joined, hold, func() { r.fail.Store(true) })
					assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
					want := int64(2) // the leader's read and the waiter's, each once
					if failure == "panic" {
						want++ // the panic, logged as served stale
					}
					assert.Equal(t, want, c.Stats().Errors)
					assert.Equal(t, want, c.ViewStats()["p"].Errors)
					// (The log's rate limit lets the first through.)
					assert.Contains(t, logs.String(), `op="view lookup"`)
				})
			})
			t.Run(flow.name+"/corrupt/"+failure, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := &remote{Backend: newSimple(t, nil)}
					c := Must(&Options{Backend: r})
					defer c.Close()
					var runs atomic.Int64
					hold := make(chan struct{})
					opts := append([]ViewOption{CacheStatusHeader("X-Cache"), Name("p")}, flow.opts...)
					h := c.Cached(10*time.Second, opts...)(failingLeaderOrigin(&runs, hold, failure, flow.cc))
					require.Equal(t, "page", get(h, "/p").Body.String())
					time.Sleep(15 * time.Second) // stale, within stale-if-error
					key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), opts...)
					require.NoError(t, err)
					leader := make(chan *httptest.ResponseRecorder, 1)
					go func() { leader <- sendRecovered(h, http.MethodGet, "/p") }()
					synctest.Wait() // the leader's handler runs
					require.NoError(t, r.Set(context.Background(), key, []byte("not an entry"), time.Hour))
					close(hold)
					assertFailedLeaderAnswer(t, <-leader, failure, "")
					assert.Equal(t, int64(1), c.Stats().Corrupt)
					assert.Equal(t, int64(1), c.ViewStats()["p"].Corrupt)
				})
			})
		}
	}
}

// TestFailedLeaderColdWaiterRereads: a waiter whose lookup found no entry,
// and whose leader's handler failed (viewResult.failed), ran its own
// handler at once, without reading the key again: a fresh entry stored
// while it waited (by another process's run, or a refresh), which a
// request made then gets as a HIT, was not served to it, and the failing
// handler ran once more. It now reads the key once (on this failure path
// only) and is served that entry as a HIT, judged as a lookup judges a hit
// (failedAnswer); with none stored, it runs its own handler as before.
func TestFailedLeaderColdWaiterRereads(t *testing.T) {
	for _, flow := range failedLeaderFlows {
		for _, stored := range []bool{false, true} {
			for _, failure := range []string{"panic", "500"} {
				for _, remoteStore := range []bool{false, true} {
					name := flow.name + "/" + failure
					if stored {
						name += "/stored"
					}
					if remoteStore {
						name += "/remote"
					}
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							joined := onWaiterJoined(t)
							var b backend.Backend = newSimple(t, nil)
							if remoteStore {
								b = &remote{Backend: b}
							}
							c := Must(&Options{Backend: b})
							defer c.Close()
							other := Must(&Options{Backend: b}) // another process
							defer other.Close()
							var runs atomic.Int64
							hold := make(chan struct{})
							opts := append([]ViewOption{CacheStatusHeader("X-Cache")}, flow.opts...)
							h := c.Cached(10*time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
								if runs.Add(1) == 1 {
									<-hold // the leader's run, while the waiter joins it
									if failure == "panic" {
										panic("the origin broke")
									}
									w.WriteHeader(http.StatusInternalServerError)
									return
								}
								w.Write([]byte("new page"))
							}))
							oh := other.Cached(10*time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
								if flow.cc != "" {
									w.Header().Set("Cache-Control", flow.cc)
								}
								w.Write([]byte("other page"))
							}))
							// The page's version keys are there before the
							// leader's lookup, which finds no entry: its run
							// creates none, whose delete at its end would drop
							// the entry stored meanwhile (forgetCreated).
							require.Equal(t, "other page", get(oh, "/p").Body.String())
							key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), opts...)
							require.NoError(t, err)
							require.NoError(t, b.Delete(context.Background(), key))

							leader := make(chan *httptest.ResponseRecorder, 1)
							go func() { leader <- sendRecovered(h, http.MethodGet, "/p") }()
							synctest.Wait() // the leader, which found no entry, runs its handler
							waiter := make(chan *httptest.ResponseRecorder, 1)
							go func() { waiter <- get(h, "/p") }()
							<-joined
							synctest.Wait() // the waiter, which found no entry either, waits
							if stored {
								require.Equal(t, "other page", get(oh, "/p").Body.String())
							}
							close(hold)
							assertFailedLeaderAnswer(t, <-leader, failure, "") // no entry of its own
							w := <-waiter
							if !stored {
								assert.Equal(t, "new page", w.Body.String())
								assert.Equal(t, int64(2), runs.Load(), "the waiter runs its own handler")
								return
							}
							assert.Equal(t, "other page", w.Body.String(), "the waiter ran its own handler (X-Cache: %s)", w.Header().Get("X-Cache"))
							assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
							assert.Equal(t, int64(1), runs.Load(), "the waiter runs no handler of its own")
						})
					})
				}
			}
		}
	}
}

// TestFailedLeaderNewerEntryRefreshesAhead: a newer fresh entry that
// answers a failed run (failedAnswer: the leader's own, or its waiter's)
// as a HIT started no RefreshAhead refresh where it was due, as a lookup's
// hit of it would: served so, the entry expired in front of its clients.
// It now starts one as a lookup's hit does: the handler runs once more, in
// the background, and the next request gets its page.
func TestFailedLeaderNewerEntryRefreshesAhead(t *testing.T) {
	for _, flow := range failedLeaderFlows {
		for _, failure := range []string{"panic", "500"} {
			for _, waiter := range []bool{false, true} {
				name := flow.name + "/" + failure
				if waiter {
					name += "/waiter"
				}
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						joined := onWaiterJoined(t)
						b := newSimple(t, nil)
						c := Must(&Options{Backend: b})
						defer c.Close()
						other := Must(&Options{Backend: b}) // another process
						defer other.Close()
						// Due 2.5 s after it is stored: within 7.5 s of the
						// end of 10 s of freshness (three quarters of it).
						opts := append([]ViewOption{CacheStatusHeader("X-Cache"), RefreshAhead(8 * time.Second)}, flow.opts...)
						var runs atomic.Int64
						hold := make(chan struct{})
						h := c.Cached(10*time.Second, opts...)(failingLeaderOrigin(&runs, hold, failure, flow.cc))
						oh := other.Cached(10*time.Second, flow.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							if flow.cc != "" {
								w.Header().Set("Cache-Control", flow.cc)
							}
							w.Header().Set("ETag", `"v3"`)
							w.Write([]byte("other page"))
						}))
						require.Equal(t, "page", get(h, "/p").Body.String())
						time.Sleep(15 * time.Second) // stale, within stale-if-error
						meanwhile := func() {
							require.Equal(t, "other page", get(oh, "/p").Body.String())
							time.Sleep(3 * time.Second) // due
						}
						var w *httptest.ResponseRecorder
						if waiter {
							w = waiterOfFailedLeader(h, joined, hold, meanwhile)
						} else {
							leader := make(chan *httptest.ResponseRecorder, 1)
							go func() { leader <- sendRecovered(h, http.MethodGet, "/p") }()
							synctest.Wait() // the leader's handler runs
							meanwhile()
							close(hold)
							w = <-leader
						}
						// A waiter's hit may be the page that the refresh its
						// leader's hit started stored before the waiter read.
						if body := w.Body.String(); !waiter || body != "new page" {
							assert.Equal(t, "other page", body)
						}
						assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
						synctest.Wait() // the refresh, if any, runs
						assert.Equal(t, int64(3), runs.Load(), "one refresh ran the handler")
						assert.NotZero(t, c.Stats().AheadRefreshes)
						assert.Equal(t, "new page", get(h, "/p").Body.String(), "the refresh stored its page")
					})
				})
			}
		}
	}
}

// failedOwnCase is what happens while a failed run's handler runs (do),
// and what answers its failure then (want: "STALE", "HIT", or "" for the
// failure).
type failedOwnCase struct {
	name string
	do   func(t *testing.T, c *Cache, b backend.Backend)
	want string
}

// failedOwnCases are the failedOwnCase of a view (opts, the handler's
// Cache-Control cc) of a failingLeaderOrigin: nothing, an invalidation of
// each kind, the entry past its window, a newer entry another process
// stored.
func failedOwnCases(ctx context.Context, opts []ViewOption, cc string) []failedOwnCase {
	return []failedOwnCase{
		{"none", func(*testing.T, *Cache, backend.Backend) {}, "STALE"},
		{"InvalidateTags", func(t *testing.T, c *Cache, _ backend.Backend) { require.NoError(t, c.InvalidateTags(ctx, "items")) }, ""},
		{"InvalidatePath", func(t *testing.T, c *Cache, _ backend.Backend) { require.NoError(t, c.InvalidatePath(ctx, "/p")) }, ""},
		{"Delete", func(t *testing.T, c *Cache, _ backend.Backend) {
			key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), opts...)
			require.NoError(t, err)
			require.NoError(t, c.Backend().Delete(ctx, key))
		}, ""},
		{"Clear", func(t *testing.T, c *Cache, _ backend.Backend) { require.NoError(t, c.Clear(ctx)) }, ""},
		// The handler ran for a minute: the entry, stale for 15 s at
		// the lookup, is past its minute of stale-if-error.
		{"past", func(*testing.T, *Cache, backend.Backend) { time.Sleep(time.Minute) }, ""},
		{"newer", func(t *testing.T, _ *Cache, b backend.Backend) {
			other := Must(&Options{Backend: b}) // another process
			t.Cleanup(func() { other.Close() }) // (its Close closes b)
			oh := other.Cached(10*time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if cc != "" {
					w.Header().Set("Cache-Control", cc)
				}
				w.Header().Set("ETag", `"v3"`)
				w.Write([]byte("other page"))
			}))
			require.Equal(t, "other page", get(oh, "/p").Body.String())
		}, "HIT"},
	}
}
