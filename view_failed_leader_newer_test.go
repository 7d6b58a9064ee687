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
)

// TestFailedLeaderWaiterServesNewerEntry: a waiter of a failed leader whose
// reread of its stale entry finds a newer one instead, fresh (another
// process stored it while the waiter waited), ran its own handler, where a
// request made then gets a HIT of that entry. It is served that entry now,
// as a HIT, judged as a lookup judges it (failedAnswer), and the handler runs
// no more.
func TestFailedLeaderWaiterServesNewerEntry(t *testing.T) {
	for _, flow := range failedLeaderFlows {
		for _, failure := range []string{"panic", "500"} {
			for _, remoteStore := range []bool{false, true} {
				name := flow.name + "/" + failure
				if remoteStore {
					name += "/remote"
				}
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						var b backend.Backend = newSimple(t, nil)
						if remoteStore {
							b = &remote{Backend: b}
						}
						other := Must(&Options{Backend: b}) // another process
						defer other.Close()
						oh := other.Cached(10*time.Second, flow.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							if flow.cc != "" {
								w.Header().Set("Cache-Control", flow.cc)
							}
							w.Header().Set("ETag", `"v3"`)
							w.Write([]byte("other page"))
						}))
						w, runs := staleWaiterOfFailedLeader(t, &Options{Backend: b}, failure, flow.opts, flow.cc, func(*Cache) {
							require.Equal(t, "other page", get(oh, "/p").Body.String())
						})
						assert.Equal(t, "other page", w.Body.String(), "the waiter ran its own handler (X-Cache: %s)", w.Header().Get("X-Cache"))
						assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
						assert.Equal(t, int64(2), runs, "the waiter runs no handler of its own")
					})
				})
			}
		}
	}
}

// TestFailedLeaderCommitted5xxWaitersServeStale: a leader without a stale
// entry of its own (its lookup found none: another process stored the page
// while its handler ran) whose handler answers a plain 500, sent to its
// client as it is, released its waiters to each run the failing handler,
// where the same leader's panic let those with a stale entry that answers a
// failure serve it (viewResult.failed). Its committed 5xx is the run's
// failure too: they serve their stale entry, and the handler runs once for
// them all. The 500 is stored for nobody: the next request is still served
// the stale entry in place of its own run's failure.
func TestFailedLeaderCommitted5xxWaitersServeStale(t *testing.T) {
	const waiters = 3
	for _, flow := range []struct {
		name string
		opts []ViewOption
		cc   string // the stored page's Cache-Control
	}{
		{"default", []ViewOption{StaleIfError(time.Minute)}, ""},
		{"shared", []ViewOption{StaleIfError(time.Minute), SharedCache()}, "max-age=10, stale-if-error=60"},
	} {
		for _, failure := range []string{"500", "panic"} {
			t.Run(flow.name+"/"+failure, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					joined := onWaiterJoined(t)
					b := newSimple(t, nil)
					c := Must(&Options{Backend: b})
					defer c.Close()
					other := Must(&Options{Backend: b}) // another process
					defer other.Close()
					var runs atomic.Int64
					hold := make(chan struct{})
					opts := append([]ViewOption{CacheStatusHeader("X-Cache")}, flow.opts...)
					h := c.Cached(10*time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if runs.Add(1) == 1 {
							<-hold // the leader's run, while the waiters join it
						}
						if failure == "panic" {
							panic("the origin broke")
						}
						w.WriteHeader(http.StatusInternalServerError)
					}))
					oh := other.Cached(10*time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if flow.cc != "" {
							w.Header().Set("Cache-Control", flow.cc)
						}
						w.Write([]byte("page"))
					}))

					// The page's path version key is there before the
					// leader's lookup, which finds no entry: its run creates
					// none, whose delete at its end would drop the entry
					// stored meanwhile (forgetCreated).
					require.Equal(t, "page", get(oh, "/p").Body.String())
					key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), opts...)
					require.NoError(t, err)
					require.NoError(t, b.Delete(context.Background(), key))
					leader := make(chan int, 1)
					go func() { leader <- sendRecovered(h, http.MethodGet, "/p").Code }()
					synctest.Wait() // the leader, which found no entry, runs its handler
					require.Equal(t, "page", get(oh, "/p").Body.String())
					time.Sleep(15 * time.Second) // stale, within stale-if-error
					answers := make(chan *httptest.ResponseRecorder, waiters)
					for range waiters {
						go func() { answers <- get(h, "/p") }()
						<-joined
					}
					synctest.Wait() // the waiters, their stale entry found, wait for the run
					close(hold)
					want := http.StatusInternalServerError
					if failure == "panic" {
						want = 599 // sendRecovered: the panic reached the request
					}
					assert.Equal(t, want, <-leader, "the leader, without an entry, gets its failure")
					for i := range waiters {
						w := <-answers
						assert.Equal(t, http.StatusOK, w.Code, "waiter %d", i)
						assert.Equal(t, "page", w.Body.String(), "waiter %d", i)
						assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "waiter %d", i)
					}
					assert.Equal(t, int64(1), runs.Load(), "the waiters run no handler of their own")

					w := sendRecovered(h, http.MethodGet, "/p")
					assert.Equal(t, "page", w.Body.String(), "the 500 was stored")
					assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
				})
			})
		}
	}
}
