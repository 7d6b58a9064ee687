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
)

// TestFailedLeaderRefusedAtCommitWaitersServeStale: a leader without a
// stale entry of its own whose handler answered a 5xx that the recorder
// refused at commit before judging its status (a response that declares a
// Trailer or sets one with http.TrailerPrefix; a text/event-stream one
// where flushes are stored, as in a SharedCache view) did not fail its run
// as a plain 5xx does: each waiter, though its own lookup had found a stale
// entry that may answer its run's failure, ran the failing handler itself.
// Every such 5xx is now the run's failure: the waiters are answered with
// their stale entry (STALE), the handler runs once, and the leader's client
// still gets the 500 as the handler made it.
func TestFailedLeaderRefusedAtCommitWaitersServeStale(t *testing.T) {
	const waiters = 3
	for _, flow := range failedLeaderFlows {
		for _, failure := range []string{"500", "500/Trailer", "500/TrailerPrefix", "500/event-stream"} {
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
						switch failure {
						case "500/Trailer":
							w.Header().Set("Trailer", "X-Checksum")
						case "500/TrailerPrefix":
							w.Header().Set(http.TrailerPrefix+"X-Checksum", "1")
						case "500/event-stream":
							w.Header().Set("Content-Type", "text/event-stream")
						}
						w.WriteHeader(http.StatusInternalServerError)
						w.Write([]byte("broken"))
					}))
					oh := other.Cached(10*time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if flow.cc != "" {
							w.Header().Set("Cache-Control", flow.cc)
						}
						w.Write([]byte("page"))
					}))
					// The page's version keys are there before the leader's
					// lookup, which finds no entry: its run creates none,
					// whose delete at its end would drop the entry stored
					// meanwhile (forgetCreated).
					require.Equal(t, "page", get(oh, "/p").Body.String())
					key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), opts...)
					require.NoError(t, err)
					require.NoError(t, b.Delete(context.Background(), key))

					leader := make(chan *httptest.ResponseRecorder, 1)
					go func() { leader <- get(h, "/p") }()
					synctest.Wait() // the leader, which found no entry, runs its handler
					// Another process stores the page, which goes stale,
					// within stale-if-error, before the waiters find it.
					require.Equal(t, "page", get(oh, "/p").Body.String())
					time.Sleep(15 * time.Second)
					answers := make(chan *httptest.ResponseRecorder, waiters)
					for range waiters {
						go func() { answers <- get(h, "/p") }()
						<-joined
					}
					synctest.Wait() // the waiters, each with its stale entry, wait
					close(hold)

					l := <-leader
					assert.Equal(t, http.StatusInternalServerError, l.Code, "the leader's client gets its failure as the handler made it")
					assert.Equal(t, "broken", l.Body.String())
					assert.NotEqual(t, "STALE", l.Header().Get("X-Cache"))
					for i := range waiters {
						w := <-answers
						assert.Equal(t, http.StatusOK, w.Code, "waiter %d", i)
						assert.Equal(t, "page", w.Body.String(), "waiter %d ran the failing handler itself", i)
						assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "waiter %d", i)
					}
					synctest.Wait()
					assert.Equal(t, int64(1), runs.Load(), "the waiters of the failed run are answered stale, not each run the failing handler")
				})
			})
		}
	}
}
