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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heldLeaseMarks is a Store whose Set of a lease's "not stored" mark,
// while armed, blocks until Unblock: a slow or hung backend's round trip
// of a release.
type heldLeaseMarks struct {
	*simple.Store
	armed   atomic.Bool
	entered chan struct{} // closed by the first blocked Set
	unblock chan struct{}
	Unblock func()
}

func newHeldLeaseMarks(t *testing.T) *heldLeaseMarks {
	s := &heldLeaseMarks{Store: newSimple(t, nil), entered: make(chan struct{}), unblock: make(chan struct{})}
	s.Unblock = sync.OnceFunc(func() { close(s.unblock) })
	return s
}

func (s *heldLeaseMarks) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if strings.Contains(key, kindLease) && string(v) == string(leaseMarkedValue) && s.armed.CompareAndSwap(true, false) {
		close(s.entered)
		<-s.unblock
	}
	return s.Store.Set(ctx, key, v, ttl)
}

// TestLeaseStaleServedWhileMarkInFlight: a request with a stale entry to
// serve (StaleIfError) whose key's "not stored" mark this process is still
// setting (the run before it failed, and its release waits for a slow
// backend) serves the stale entry, as it does once the mark is set, and
// as another process's request does. It used to wait for that release
// first, up to the Cache's Timeout, only to serve the same stale entry.
func TestLeaseStaleServedWhileMarkInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newHeldLeaseMarks(t)
		c := leased(b)
		defer c.Close()
		var failing atomic.Bool
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
			if failing.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}}
		v := c.Cached(time.Second, StaleIfError(time.Hour), CacheStatusHeader("X-Cache"))(h)
		require.Equal(t, "page #1", get(v, "/p").Body.String()) // stored
		time.Sleep(2 * time.Second)
		failing.Store(true)

		// The leader's run fails: the stale entry answers it, and its
		// release, which marks the lease, waits for the backend.
		b.armed.Store(true)
		defer b.Unblock()
		w := get(v, "/p")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		<-b.entered

		done := make(chan struct{})
		go func() {
			defer close(done)
			w = get(v, "/p")
		}()
		synctest.Wait()
		select {
		case <-done:
		default:
			b.Unblock()
			<-done
			t.Fatal("the request with a stale entry waited for the release of the lease in flight")
		}
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "page #1", w.Body.String())
		assert.EqualValues(t, 2, h.calls.Load(), "the handler ran again")
		b.Unblock()
	})
}
