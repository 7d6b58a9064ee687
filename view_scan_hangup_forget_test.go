package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestScanWithHangUpLeavesNoPathKeys: a scan of random paths answered 404
// leaves no path version key behind, also when its client hangs up while
// the handler runs (an HTTP/2 RST_STREAM right after the HEADERS). The run
// skipped forgetCreated whenever its client left, whether or not its
// flight was handed on to anyone: one key per request, living weeks.
func TestScanWithHangUpLeavesNoPathKeys(t *testing.T) {
	for _, hangUp := range []bool{false, true} {
		t.Run(fmt.Sprint("hangUp=", hangUp), func(t *testing.T) {
			b := newSimple(t, nil)
			c := Must(&Options{Backend: b})
			defer c.Close()
			view := c.Cached(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if hangUp {
					<-r.Context().Done()
				}
				http.NotFound(w, r)
			}))
			for i := range 200 {
				ctx, cancel := context.WithCancel(context.Background())
				r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/scan/%d", i), nil).WithContext(ctx)
				if hangUp {
					time.AfterFunc(time.Millisecond, cancel)
				}
				view.ServeHTTP(httptest.NewRecorder(), r)
				cancel()
			}
			if n := b.Stats().Entries; n > 10 {
				t.Fatalf("200 requests for random paths (404) left %d keys in the store", n)
			}
		})
	}
}

// TestLeaderLeftErrorKeepsLaterLeadersEntry: nobody waits when the
// leader's client leaves, but a request that comes while the abandoned
// run goes on leads a new run, which stores the page under the path
// version key the abandoned run created. That run's error (a 404) must
// not delete the key: the flight was handed on, to a leader that came
// later rather than to a waiter.
func TestLeaderLeftErrorKeepsLaterLeadersEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		finish := make(chan struct{})
		var first atomic.Bool
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			if first.CompareAndSwap(false, true) {
				<-finish
				w.WriteHeader(http.StatusNotFound)
			}
		}}
		view := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)

		ctx, hangUp := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/popular", nil).WithContext(ctx)
			view.ServeHTTP(httptest.NewRecorder(), r)
		})
		synctest.Wait() // the leader runs the handler, having created the path key
		hangUp()        // its client leaves; nobody waits
		synctest.Wait()
		assert.Equal(t, "page #2", get(view, "/popular").Body.String(), "the later leader's run")
		close(finish) // the abandoned run answers an error
		wg.Wait()
		w := get(view, "/popular")
		assert.Equal(t, "page #2", w.Body.String(), "X-Cache %s", w.Header().Get("X-Cache"))
		assert.Equal(t, int64(2), h.calls.Load(), "the later leader's entry was lost")
	})
}

// TestLeaderLeftErrorKeepsOtherProcessesEntry: with a lease, the flight of
// a leader whose client left is handed on to the other processes sharing
// the backend (the lease is deleted for one of them to take). When one of
// them stores the page meanwhile, the abandoned run's error (a 404) must
// not delete the path version key it is stored under.
func TestLeaderLeftErrorKeepsOtherProcessesEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSimple(t, nil)
		finish := make(chan struct{})
		var first atomic.Bool
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			if first.CompareAndSwap(false, true) {
				<-finish
				w.WriteHeader(http.StatusNotFound)
			}
		}}
		views := make([]http.Handler, 2) // two processes
		for i := range views {
			c := Must(&Options{Backend: b})
			defer c.Close()
			views[i] = c.Cached(time.Minute, Lease(time.Minute), CacheStatusHeader("X-Cache"))(h)
		}

		ctx, hangUp := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/popular", nil).WithContext(ctx)
			views[0].ServeHTTP(httptest.NewRecorder(), r)
		})
		synctest.Wait() // process 0 holds the lease and runs the handler
		got := make(chan *httptest.ResponseRecorder, 1)
		wg.Go(func() { got <- get(views[1], "/popular") })
		synctest.Wait() // process 1 waits for the lease
		hangUp()        // process 0's client leaves: the lease is handed on
		assert.Equal(t, "page #2", (<-got).Body.String(), "process 1's run")
		close(finish) // the abandoned run answers an error
		wg.Wait()
		for i, view := range views {
			w := get(view, "/popular")
			assert.Equal(t, "page #2", w.Body.String(), "process %d: X-Cache %s", i, w.Header().Get("X-Cache"))
		}
		assert.Equal(t, int64(2), h.calls.Load(), "process 1's entry was lost")
	})
}
