package caching

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend/simple"
)

// heldDeletes holds the first delete of a path version key until release
// is closed, telling entered as it begins.
type heldDeletes struct {
	*simple.Store
	entered, release chan struct{}
	once             sync.Once
}

func (s *heldDeletes) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.HasPrefix(k, "p/") {
			s.once.Do(func() { close(s.entered) })
			<-s.release
			break
		}
	}
	return s.Store.Delete(ctx, keys...)
}

// TestLeaderLeftRunEndsBeforeWaiterRejoins: a leader's client leaves, its
// waiter is released for a retry, and the abandoned run ends (its response,
// made after its client left, is not stored) before the waiter has joined
// the key's next call. The path version key the abandoned run created must
// go to the waiter's new call, which stores its entry under it, not be
// deleted at the run's end: the waiter, which read the key before the
// delete, stored its entry under a deleted version, and the next request
// ran the handler again.
func TestLeaderLeftRunEndsBeforeWaiterRejoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		joined := onWaiterJoined(t)
		b := &heldDeletes{Store: newSimple(t, nil), entered: make(chan struct{}), release: make(chan struct{})}
		c := Must(&Options{Backend: b})
		defer c.Close()
		released := false
		releaseDeletes := func() {
			if !released {
				released = true
				close(b.release)
			}
		}
		defer releaseDeletes()
		leaderReturned := make(chan struct{})
		hook := func(string, *http.Request) {
			// The waiter joins again only once the abandoned run's end
			// deletes its key (before the fix), or has returned.
			select {
			case <-b.entered:
			case <-leaderReturned:
			}
		}
		waiterRetryHook.Store(&hook)
		defer waiterRetryHook.Store(nil)
		var first atomic.Bool
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			if first.CompareAndSwap(false, true) {
				<-r.Context().Done() // and answers all the same
			}
		}}
		view := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)

		ctx, hangUp := context.WithCancel(context.Background())
		got := leaderAndWaiter(view, ctx, leaderReturned, joined)
		hangUp()
		w := <-got
		releaseDeletes()
		<-leaderReturned
		assertWaitersEntryHit(t, view, h, w)
	})
}
