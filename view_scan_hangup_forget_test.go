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

	"github.com/go-caching/caching/backend/simple"
)

// TestScanWithHangUpLeavesNoPathKeys: a scan of random paths answered 404
// leaves no path version key behind, also when its client hangs up while
// the handler runs (an HTTP/2 RST_STREAM right after the HEADERS). The run
// skipped forgetCreated whenever its client left, whether or not its
// flight was handed on to anyone: one key per request, living weeks.
func TestScanWithHangUpLeavesNoPathKeys(t *testing.T) {
	testScanWithHangUp(t)
}

// TestScanWithHangUpLeavesNoPathKeysWithLease: as
// TestScanWithHangUpLeavesNoPathKeys, with a Lease. A leader whose client
// left hands its lease on to the other processes (it deletes it); the run
// took that for its flight being handed on to one of them, whether or not
// any took it, and kept the path key it created: one per request.
func TestScanWithHangUpLeavesNoPathKeysWithLease(t *testing.T) {
	testScanWithHangUp(t, Lease(time.Minute))
}

// testScanWithHangUp sends 200 requests for random paths, each answered
// 404, to a view made with opts, and checks what they leave in the store
// once the keys meant to live a second (a lease's "not stored" marker) have
// expired and the store's sweep has removed them.
func testScanWithHangUp(t *testing.T, opts ...ViewOption) {
	for _, hangUp := range []bool{false, true} {
		t.Run(fmt.Sprint("hangUp=", hangUp), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newSimple(t, nil)
				c := Must(&Options{Backend: b})
				defer c.Close()
				view := c.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
				time.Sleep(simple.DefaultSweepInterval + leaseMarkLife)
				synctest.Wait() // the sweep has removed what expired
				if n := b.Stats().Entries; n > 10 {
					t.Fatalf("200 requests for random paths (404) left %d keys in the store", n)
				}
			})
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

// gateKey is the context key of the channel a request's handler waits for
// (TestScanWithTwoHangUpsPerPathLeavesNoPathKeys).
type gateKey struct{}

// TestScanWithTwoHangUpsPerPathLeavesNoPathKeys: a scan that sends each
// random path twice, hanging up each time while the handler runs, leaves
// no path version key behind. The second request leads a new run in place
// of the first (whose client left) and finds the path key the first
// created: it does not delete it, not having created it, and the first
// skipped its delete because its flight was taken over, although the run
// that took it stored nothing (a 404 too). One key per path, for weeks.
// With a Lease, each run whose client left also hands the lease on.
func TestScanWithTwoHangUpsPerPathLeavesNoPathKeys(t *testing.T) {
	for _, tc := range []struct {
		firstEndsFirst bool
		lease          time.Duration
	}{{false, 0}, {true, 0}, {false, time.Minute}, {true, time.Minute}} {
		t.Run(fmt.Sprintf("firstEndsFirst=%v/lease=%v", tc.firstEndsFirst, tc.lease), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newSimple(t, nil)
				c := Must(&Options{Backend: b})
				defer c.Close()
				view := c.Cached(time.Hour, Lease(tc.lease))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					<-r.Context().Done() // the client hangs up
					<-r.Context().Value(gateKey{}).(chan struct{})
					http.NotFound(w, r)
				}))
				var wg sync.WaitGroup
				// send starts a request for path and hangs up once its
				// handler runs; its handler answers once gate is closed.
				send := func(path string) (gate chan struct{}) {
					gate = make(chan struct{})
					ctx, hangUp := context.WithCancel(context.WithValue(context.Background(), gateKey{}, gate))
					wg.Go(func() {
						view.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
					})
					synctest.Wait() // its handler runs
					hangUp()
					synctest.Wait()
					return gate
				}
				const paths = 50
				for i := range paths {
					path := fmt.Sprintf("/scan/%d", i)
					first := send(path)
					second := send(path) // leads in place of the first
					if tc.firstEndsFirst {
						close(first)
						synctest.Wait()
						close(second)
					} else {
						close(second)
						synctest.Wait()
						close(first)
					}
					wg.Wait()
				}
				c.wait() // the deletes of the keys, made after each response
				if n := b.Stats().Entries; n > 0 {
					t.Fatalf("%d random paths asked twice (404, the client hanging up) left %d keys in the store", paths, n)
				}
			})
		})
	}
}

// TestLeaderLeftTwiceKeepsThirdLeadersEntry: the flight of a path is taken
// over twice, each leader's client leaving while its handler runs, and
// the third leader stores the page under the path version key the first
// created. The abandoned runs then answer 404, in either order: the key
// is handed along the chain of runs that took the flight over, to the one
// that stored under it, and stays.
func TestLeaderLeftTwiceKeepsThirdLeadersEntry(t *testing.T) {
	for _, firstEndsFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("firstEndsFirst=", firstEndsFirst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				var runs atomic.Int64
				view := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					runs.Add(1)
					if gate, ok := r.Context().Value(gateKey{}).(chan struct{}); ok {
						<-r.Context().Done() // the client hangs up
						<-gate
						http.NotFound(w, r)
						return
					}
					_, _ = w.Write([]byte("page"))
				}))
				var wg sync.WaitGroup
				send := func() (gate chan struct{}) {
					gate = make(chan struct{})
					ctx, hangUp := context.WithCancel(context.WithValue(context.Background(), gateKey{}, gate))
					wg.Go(func() {
						view.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/page", nil).WithContext(ctx))
					})
					synctest.Wait() // its handler runs
					hangUp()
					synctest.Wait()
					return gate
				}
				first := send()
				second := send() // leads in place of the first
				assert.Equal(t, "page", get(view, "/page").Body.String(), "the third leader's run")
				if firstEndsFirst {
					close(first)
					synctest.Wait()
					close(second)
				} else {
					close(second)
					synctest.Wait()
					close(first)
				}
				wg.Wait()
				w := get(view, "/page")
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the third leader's entry was lost")
				assert.Equal(t, int64(3), runs.Load())
			})
		})
	}
}

// TestLeaderLeftErrorKeepsRunningProcessesKey: as
// TestLeaderLeftErrorKeepsOtherProcessesEntry, but the abandoned run
// answers its 404 while the process that took the lease over still runs
// the handler: the lease is held, and the path version key it will store
// its page under stays.
func TestLeaderLeftErrorKeepsRunningProcessesKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSimple(t, nil)
		finish, second := make(chan struct{}), make(chan struct{})
		var calls atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch calls.Add(1) {
			case 1:
				<-finish
				w.WriteHeader(http.StatusNotFound)
			case 2:
				<-second
			}
			_, _ = w.Write([]byte("page"))
		})
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
		for calls.Load() < 2 {
			time.Sleep(time.Millisecond) // process 1's next poll takes the lease
		}
		synctest.Wait()
		close(finish) // the abandoned run answers an error, process 1's still runs
		synctest.Wait()
		close(second)
		assert.Equal(t, "page", (<-got).Body.String(), "process 1's run")
		wg.Wait()
		for i, view := range views {
			w := get(view, "/popular")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "process %d: process 1's entry was lost", i)
		}
		assert.Equal(t, int64(2), calls.Load())
	})
}
