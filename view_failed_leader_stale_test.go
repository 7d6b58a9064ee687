package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestFailedLeaderWaitersServeStale: a stale key's leader whose handler
// fails (a panic, or a 5xx, before its response is committed) is answered
// with the stale entry where StaleIfError (or the response's or request's
// stale-if-error) allows it. The requests that waited for its run were each
// released to run the failing handler themselves, one run per request, as
// many as without the cache, against an origin that just failed: each
// waiter whose own lookup found an entry that may answer a failure of its
// run is now answered with it (STALE), the leader's failure being that of
// the run it shares, and the handler runs once. A waiter without such an
// entry still runs its own (runs never pass requests), and the panic still
// reaches the leader's own request when no stale entry answers it. With a
// Lease too: the only process's lease is free, and its run is the
// flight's.
func TestFailedLeaderWaitersServeStale(t *testing.T) {
	const waiters = 3
	for _, tc := range []struct {
		name  string
		opts  []ViewOption
		cc    string   // the handler's Cache-Control
		hdr   []string // the requests' fields
		stale bool     // the stale entry answers every request
	}{
		{"default/stale-if-error", []ViewOption{StaleIfError(time.Minute)}, "", nil, true},
		{"default", nil, "", nil, false},
		{"shared/stale-if-error", []ViewOption{StaleIfError(time.Minute), SharedCache()}, "max-age=10, stale-if-error=60", nil, true},
		{"shared", []ViewOption{SharedCache()}, "max-age=10", nil, false},
		// The request refuses stale responses (staleOnError): only the
		// failure of its run is answered stale, the leader's included.
		{"shared/stale-if-error/max-stale", []ViewOption{StaleIfError(time.Minute), SharedCache(), HonorRequestCacheControl()},
			"max-age=10, stale-if-error=60", []string{"Cache-Control", "max-stale=1"}, true},
	} {
		for _, failure := range []string{"panic", "500"} {
			for _, lease := range []time.Duration{0, time.Minute} {
				name := tc.name + "/" + failure
				if lease > 0 {
					name += "/lease"
				}
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						joined := onWaiterJoined(t)
						c := Must(&Options{Lease: lease})
						defer c.Close()
						var runs atomic.Int64
						var broken atomic.Bool
						hold := make(chan struct{})
						h := c.Cached(10*time.Second, append([]ViewOption{CacheStatusHeader("X-Cache")}, tc.opts...)...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							n := runs.Add(1)
							if broken.Load() {
								if n == 2 {
									<-hold // the leader's run, while the waiters join it
								}
								if failure == "panic" {
									panic("the origin broke")
								}
								w.WriteHeader(http.StatusInternalServerError)
								return
							}
							if tc.cc != "" {
								w.Header().Set("Cache-Control", tc.cc)
							}
							w.Write([]byte("page"))
						}))
						assert.Equal(t, "page", get(h, "/p").Body.String())
						time.Sleep(15 * time.Second) // stale, within stale-if-error
						broken.Store(true)

						type answer struct {
							code        int
							body, cache string
						}
						answers := make(chan answer, 1+waiters)
						serve := func() {
							w := sendRecovered(h, http.MethodGet, "/p", tc.hdr...)
							answers <- answer{w.Code, w.Body.String(), w.Header().Get("X-Cache")}
						}
						go serve()
						synctest.Wait() // the leader's handler runs
						for range waiters {
							go serve()
							<-joined
						}
						synctest.Wait() // the waiters wait for the leader's run
						close(hold)
						var got []answer
						for range 1 + waiters {
							got = append(got, <-answers)
						}
						synctest.Wait()

						requests := int64(1 + waiters)
						assert.LessOrEqual(t, runs.Load()-1, requests, "never more runs than requests, as without the cache")
						if !tc.stale {
							assert.Equal(t, requests, runs.Load()-1, "each request runs its own handler, as without the cache")
							want := http.StatusInternalServerError
							if failure == "panic" {
								want = 599 // sendRecovered: the panic reached the request
							}
							for _, a := range got {
								assert.Equal(t, want, a.code, "each request gets its own run's failure")
							}
							return
						}
						assert.Equal(t, int64(1), runs.Load()-1, "the waiters of the failed run are answered stale, not each run the failing handler")
						for _, a := range got {
							assert.Equal(t, answer{http.StatusOK, "page", "STALE"}, a)
						}
					})
				})
			}
		}
	}
}

// TestFailedAloneLeaderHandsOn: a stale key's leader that asked with Range
// (or If-Match: answeredAlone) and whose handler failed (a 5xx that its
// stale entry answers, a panic) may have failed for its Range alone (a
// handler that breaks on it), as TestPartialLeaderErrorHandsOn pins for a
// 500 without a stale entry: its plain waiters wait for a new leader, one
// that asks as they do, and get the page the handler makes for them. They
// were answered with their stale entry (viewResult.failed), an old page
// the origin no longer serves, from a failure that was not theirs.
func TestFailedAloneLeaderHandsOn(t *testing.T) {
	const waiters = 3
	for _, tc := range []struct {
		name string
		opts []ViewOption
		cc   string
	}{
		{"default", []ViewOption{StaleIfError(time.Minute)}, ""},
		{"shared", []ViewOption{StaleIfError(time.Minute), SharedCache()}, "max-age=10, stale-if-error=60"},
	} {
		for _, failure := range []string{"panic", "500"} {
			for _, alone := range [][]string{{"Range", "bytes=0-1"}, {"If-Match", `"v1"`}} {
				for _, lease := range []time.Duration{0, time.Minute} {
					name := tc.name + "/" + failure + "/" + alone[0]
					if lease > 0 {
						name += "/lease"
					}
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							c := Must(&Options{Lease: lease})
							defer c.Close()
							var runs atomic.Int64
							var changed atomic.Bool
							gate := make(chan struct{})
							h := c.Cached(10*time.Second, append([]ViewOption{CacheStatusHeader("X-Cache")}, tc.opts...)...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
								runs.Add(1)
								if tc.cc != "" {
									w.Header().Set("Cache-Control", tc.cc)
								}
								if !changed.Load() {
									w.Write([]byte("page"))
									return
								}
								if r.Header.Get(alone[0]) != "" {
									<-gate
									// The handler breaks on the field.
									if failure == "panic" {
										panic("broke on " + alone[0])
									}
									w.WriteHeader(http.StatusInternalServerError)
									return
								}
								w.Write([]byte("new page"))
							}))
							assert.Equal(t, "page", get(h, "/p").Body.String())
							time.Sleep(15 * time.Second) // stale, within stale-if-error
							changed.Store(true)
							runs.Store(0)

							type answer struct {
								code        int
								body, cache string
							}
							_, got := leadWithWaiters(gate, waiters,
								func() int { return sendRecovered(h, http.MethodGet, "/p", alone...).Code },
								func() answer {
									w := get(h, "/p")
									return answer{w.Code, w.Body.String(), w.Header().Get("X-Cache")}
								})
							for i, a := range got {
								assert.Equal(t, http.StatusOK, a.code, "waiter %d", i)
								assert.Equal(t, "new page", a.body, "waiter %d: the page its own run makes, not the stale one", i)
								assert.NotEqual(t, "STALE", a.cache, "waiter %d", i)
							}
							assert.LessOrEqual(t, runs.Load(), int64(1+waiters), "never more runs than requests")
							assert.Equal(t, int64(2), runs.Load(), "the plain waiters share one run")
						})
					})
				}
			}
		}
	}
}
