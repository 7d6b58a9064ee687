package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

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
				t.Run(tc.name+"/"+failure+"/"+alone[0], func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						c := Must(nil)
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
