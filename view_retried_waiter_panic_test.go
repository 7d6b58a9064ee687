package caching

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRetriedWaiterPanicLeavesNoCall: a waiter released for a retry (its
// leader's client left) panics before it joins the key's next call, and
// the abandoned run ends. The waiter must still count as done with the
// call: left counting it, the ended call stayed in the flight's left, its
// path version key undeleted, until the next call of its key.
func TestRetriedWaiterPanicLeavesNoCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		joined := onWaiterJoined(t)
		b := newSimple(t, nil)
		c := Must(&Options{Backend: b})
		defer c.Close()
		hook := func(string, *http.Request) { panic("the waiter panics before it joins again") }
		waiterRetryHook.Store(&hook)
		defer waiterRetryHook.Store(nil)
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // and answers all the same, for nobody
		}}
		vh := c.Cached(time.Minute)(h)

		leaderReturned := make(chan struct{})
		hangUp := serveLeader(vh, "/popular", leaderReturned)
		panicked := make(chan any, 1)
		go func() {
			defer func() { panicked <- recover() }()
			get(vh, "/popular")
		}()
		<-joined
		synctest.Wait() // the waiter waits for the leader's run
		hangUp()
		assert.NotNil(t, <-panicked, "the waiter panicked")
		<-leaderReturned
		synctest.Wait()

		v := vh.(*view)
		v.flight.mu.Lock()
		left := len(v.flight.left)
		v.flight.mu.Unlock()
		assert.Zero(t, left, "no call left for a next one")
		_, ok := b.LoadValue(c.pathTagKey("/popular"))
		assert.False(t, ok, "the abandoned run's path key is deleted")
	})
}
