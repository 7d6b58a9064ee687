package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// markAfterAdd is heldLeaseMarks whose next refused Add of a lease key,
// once set (afterRefusedAdd), calls a function before it returns: what
// happens in this process between a caller's Add and its look at its own
// leases (ownedLeases.take).
type markAfterAdd struct {
	*heldLeaseMarks
	afterRefused atomic.Pointer[func()]
}

func (s *markAfterAdd) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	added, err := s.heldLeaseMarks.Add(ctx, key, v, ttl)
	if !added && err == nil && strings.Contains(key, kindLease) {
		if f := s.afterRefused.Swap(nil); f != nil {
			(*f)()
		}
	}
	return added, err
}

// TestLeaseStaleServedWhenMarkBeginsAfterAdd: a request with a stale entry
// to serve (StaleIfError) whose Add finds the key's lease held by this
// process's own run (another view of the same key, with a flight of its
// own) serves the stale entry, as it does for another process's run. When
// that run failed between the Add and the look at this process's leases
// after it, and its release, which sets the "not stored" mark, was in
// flight on a slow backend, the request waited for that release (up to the
// Cache's Timeout) only to serve the stale entry after it; it now serves it
// at once, as it does when the release was in flight before its Add.
func TestLeaseStaleServedWhenMarkBeginsAfterAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &markAfterAdd{heldLeaseMarks: newHeldLeaseMarks(t)}
		c := leased(b)
		defer c.Close()
		defer b.Unblock()
		var failing atomic.Bool
		running, fail := make(chan struct{}), make(chan struct{})
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
			if failing.Load() {
				close(running)
				<-fail
				w.WriteHeader(http.StatusInternalServerError)
			}
		}}
		opts := []ViewOption{StaleIfError(time.Hour), CacheStatusHeader("X-Cache")}
		va, vb := c.Cached(time.Second, opts...)(h), c.Cached(time.Second, opts...)(h)
		require.Equal(t, "page #1", get(va, "/p").Body.String()) // stored
		time.Sleep(2 * time.Second)
		failing.Store(true)

		// A's request leads under the lease; its handler runs.
		fromA := make(chan string, 1)
		go func() { fromA <- get(va, "/p").Header().Get("X-Cache") }()
		<-running

		// B's request, with the stale entry, finds the lease held. Before
		// it looks at this process's leases, A's handler fails, and A's
		// release, which marks the lease, waits for the backend.
		hook := func() {
			b.armed.Store(true)
			close(fail)
			<-b.entered
			assert.Equal(t, "STALE", <-fromA)
		}
		b.afterRefused.Store(&hook)
		done := make(chan struct{})
		var w *httptest.ResponseRecorder
		go func() {
			defer close(done)
			w = get(vb, "/p")
		}()
		synctest.Wait()
		require.Nil(t, b.afterRefused.Load(), "B's Add was refused")
		select {
		case <-done:
		default:
			b.Unblock()
			<-done
			t.Error("the request with a stale entry waited for the release of the lease in flight")
		}
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "page #1", w.Body.String())
		assert.EqualValues(t, 2, h.calls.Load(), "the handler ran again")
	})
}
