package caching

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// sharedAndDefault are the modes of a view the refused-leader tests run
// in: SharedCache, and none.
var sharedAndDefault = []struct {
	name string
	opts []ViewOption
}{{"shared", []ViewOption{SharedCache()}}, {"default", nil}}

// TestRefusedLeaderKeepsWaitersEntry: same URL. A logged-in
// request (its session renewed: Set-Cookie) leads /page's flight and
// created the path key; refused at commit, it releases its waiter, which
// runs its own request and stores the anonymous page under the key. The
// leader's flight then ends with nothing of its own stored
// (viewFlight.end: c.res.snap nil) and deletes the key under that entry.
func TestRefusedLeaderKeepsWaitersEntry(t *testing.T) {
	for _, mode := range sharedAndDefault {
		t.Run(mode.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				open, body := make(chan struct{}), make(chan struct{})
				var calls atomic.Int32
				ch := c.Cached(time.Hour, mode.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					w.Header().Set("Cache-Control", "max-age=60")
					if r.Header.Get("Cookie") != "" {
						<-open
						w.Header().Set("Set-Cookie", "session=alice; Max-Age=3600")
						w.WriteHeader(http.StatusOK)
						<-body
					}
					fmt.Fprint(w, "page")
				}))
				var wg sync.WaitGroup
				wg.Go(func() { get(ch, "/page", "Cookie", "session=alice") })
				synctest.Wait() // leads, created the path key
				wg.Go(func() { get(ch, "/page") })
				synctest.Wait() // waits for the leader
				close(open)
				synctest.Wait() // the leader's refusal released it: its own run stored the page
				close(body)
				wg.Wait()
				n := calls.Load()
				assert.Equal(t, "page", get(ch, "/page").Body.String())
				assert.Equal(t, n, calls.Load(), "the anonymous page the waiter stored is a hit")
			})
		})
	}
}

// TestRefusedLeaderLateWaiterKeepsEntry: a leader's response is refused
// for its own reason (a Set-Cookie), its client still there, and its
// waiter, released to run on its own, reads the path version key the
// leader's run created but stores its entry only after the leader's run
// ended. The leader's end must leave the key to the waiter: deleted
// there, the waiter's entry was stored under a dropped version, and the
// next request ran the handler again.
func TestRefusedLeaderLateWaiterKeepsEntry(t *testing.T) {
	for _, mode := range sharedAndDefault {
		t.Run(mode.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				open, leaderEnd, proceed := make(chan struct{}), make(chan struct{}), make(chan struct{})
				var calls atomic.Int32
				opts := append([]ViewOption{CacheStatusHeader("X-Cache")}, mode.opts...)
				ch := c.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					w.Header().Set("Cache-Control", "max-age=60")
					if r.Header.Get("Cookie") != "" {
						<-open
						w.Header().Set("Set-Cookie", "session=alice; Max-Age=3600")
						w.WriteHeader(http.StatusOK) // refused: the waiter runs on its own
						<-leaderEnd
					} else {
						<-proceed // stores once the leader's run has ended
					}
					fmt.Fprint(w, "page")
				}))
				var leader, waiter sync.WaitGroup
				leader.Go(func() { get(ch, "/page", "Cookie", "session=alice") })
				synctest.Wait() // leads, created the path key
				waiter.Go(func() { get(ch, "/page") })
				synctest.Wait() // waits for the leader
				close(open)
				synctest.Wait() // the waiter read the path key, and runs
				close(leaderEnd)
				leader.Wait() // the leader's run ended
				close(proceed)
				waiter.Wait()
				n := calls.Load()
				w := get(ch, "/page")
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
				assert.Equal(t, "page", w.Body.String())
				assert.Equal(t, n, calls.Load(), "the page the waiter stored is a hit")
			})
		})
	}
}
