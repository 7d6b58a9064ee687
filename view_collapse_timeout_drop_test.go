package caching

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCollapseTimeoutGaveUpDropsNothing: in a SharedCache view, neither a
// request that gave up waiting for another's revalidation of a stale entry
// and runs on its own, nor the revalidation that a waiter took over, may
// delete the entry the taker stored: a refusal either gets (a 200 with
// no-store, a 304 that says private) would drop the entry of its key as a
// revalidation's refusal does (dropReplaced, settle304). Before, the one
// that ran on its own did.
func TestCollapseTimeoutGaveUpDropsNothing(t *testing.T) {
	for name, refuse := range map[string]func(w http.ResponseWriter){
		"200 no-store": func(w http.ResponseWriter) {
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write([]byte("not for the cache"))
		},
		"304 private": func(w http.ResponseWriter) {
			w.Header().Set("Cache-Control", "private, max-age=600")
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				releaseLeader, releaseTaker, releaseWaiter := make(chan struct{}), make(chan struct{}), make(chan struct{})
				var conditional atomic.Int32
				h := c.Cached(time.Hour, SharedCache(), CollapseTimeout(50*time.Millisecond))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("If-None-Match") == "" {
						w.Header().Set("Cache-Control", "max-age=1")
						w.Header().Set("ETag", `"v1"`)
						_, _ = w.Write([]byte("v1"))
						return
					}
					switch conditional.Add(1) {
					case 1: // the leader, taken over, answered later
						<-releaseLeader
						refuse(w)
					case 2: // the waiter that takes over: a new representation, stored
						<-releaseTaker
						w.Header().Set("Cache-Control", "max-age=600")
						w.Header().Set("ETag", `"v2"`)
						_, _ = w.Write([]byte("v2"))
					default: // the waiter that gave up on the taker's young run
						<-releaseWaiter
						refuse(w)
					}
				}))
				require.Equal(t, "v1", get(h, "/a").Body.String())
				time.Sleep(2 * time.Second) // stale: to revalidate

				var leader, waiters sync.WaitGroup
				leader.Go(func() { get(h, "/a") })
				synctest.Wait()
				waiters.Go(func() { get(h, "/a") })
				time.Sleep(10 * time.Millisecond)
				waiters.Go(func() { get(h, "/a") })
				time.Sleep(55 * time.Millisecond) // fake time: one takes over at 50 ms, the other runs on its own at 60
				synctest.Wait()
				require.EqualValues(t, 3, conditional.Load(), "the waiters revalidate")

				close(releaseTaker)
				synctest.Wait() // v2 stored
				close(releaseLeader)
				leader.Wait()
				close(releaseWaiter)
				waiters.Wait()

				resp, fresh, err := c.Peek(httptest.NewRequest(http.MethodGet, "/a", nil), SharedCache())
				require.NoError(t, err, "the leader's entry is still stored")
				assert.True(t, fresh)
				assert.Equal(t, "v2", string(resp.Body))
			})
		})
	}
}
