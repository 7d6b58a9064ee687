package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// answerWatch is a ResponseRecorder that closes answered as the response's
// status is written.
type answerWatch struct {
	*httptest.ResponseRecorder
	answered chan struct{}
	once     sync.Once
}

func (w *answerWatch) WriteHeader(code int) {
	w.once.Do(func() { close(w.answered) })
	w.ResponseRecorder.WriteHeader(code)
}

func (w *answerWatch) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.answered) })
	return w.ResponseRecorder.Write(p)
}

// TestRetriedLastWaiterDecidesAfterItsAnswer: in a SharedCache view, a
// Range request waits for a leader whose client leaves; the abandoned run
// ends, storing nothing, before the waiter joins again, and no newer call
// of the key is made: the waiter, the run's last, decides for the path version key the
// run created, and deletes it. It did so before its own request was
// served: its handler waited for the delete (a backend round trip, or
// Options.Timeout against a slow backend). It must be answered first, and
// the key still deleted after, the flight left empty.
func TestRetriedLastWaiterDecidesAfterItsAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		// stores: the waiter's run stores its response (a 200 to the
		// Range) under the abandoned run's path key, which is kept.
		stores bool
	}{
		{"no-lease", Options{}, false},
		{"lease", Options{Lease: time.Minute}, false}, // decideHandedOn: the lease is free
		{"no-lease-stores", Options{}, true},
		{"lease-stores", Options{Lease: time.Minute}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				joined := onWaiterJoined(t)
				b := &heldDeletes{Store: newSimple(t, nil), entered: make(chan struct{}), release: make(chan struct{})}
				opts := tc.opts
				opts.Backend = b
				c := Must(&opts)
				defer c.Close()
				releaseDeletes := sync.OnceFunc(func() { close(b.release) })
				defer releaseDeletes()
				leaderReturned := make(chan struct{})
				hook := func(string, *http.Request) { <-leaderReturned } // the abandoned run has ended
				waiterRetryHook.Store(&hook)
				defer waiterRetryHook.Store(nil)
				var calls atomic.Int32
				vh := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if calls.Add(1) == 1 {
						<-r.Context().Done() // and answers all the same, for nobody
					}
					w.Header().Set("Cache-Control", "max-age=60")
					if r.Header.Get("Range") != "" && !tc.stores {
						w.Header().Set("Content-Range", "bytes 0-1/4")
						w.WriteHeader(http.StatusPartialContent)
						fmt.Fprint(w, "pa")
						return
					}
					fmt.Fprint(w, "page")
				}))

				hangUp := serveLeader(vh, "/popular", leaderReturned) // its path key created
				w := &answerWatch{ResponseRecorder: httptest.NewRecorder(), answered: make(chan struct{})}
				waiterReturned := make(chan struct{})
				go func() {
					defer close(waiterReturned)
					r := httptest.NewRequest(http.MethodGet, "/popular", nil)
					r.Header.Set("Range", "bytes=0-1")
					vh.ServeHTTP(w, r)
				}()
				<-joined
				synctest.Wait() // the waiter waits for the leader's run
				hangUp()
				<-leaderReturned
				synctest.Wait() // the waiter is answered, or held in a delete

				select {
				case <-w.answered:
				default:
					t.Error("the waiter's request waits for the delete of the abandoned run's path key")
				}
				releaseDeletes()
				<-waiterReturned
				c.wait() // the decision, made after its response
				if tc.stores {
					assert.Equal(t, http.StatusOK, w.Code)
					assert.Equal(t, "page", w.Body.String())
				} else {
					assert.Equal(t, http.StatusPartialContent, w.Code)
					assert.Equal(t, "pa", w.Body.String())
				}
				assert.EqualValues(t, 2, calls.Load(), "the abandoned run and the waiter's")
				_, ok := b.LoadValue(c.pathTagKey("/popular"))
				if tc.stores {
					assert.True(t, ok, "the path key the waiter's entry is stored under is kept")
					hit := get(vh, "/popular")
					assert.Equal(t, "page", hit.Body.String())
					assert.EqualValues(t, 2, calls.Load(), "the waiter's entry is a hit")
				} else {
					select {
					case <-b.entered:
					default:
						t.Error("the path key was not deleted")
					}
					assert.False(t, ok, "the abandoned run's path key is deleted: nothing is stored under it")
				}
				assertFlightEmpty(t, vh.(*view), "/popular")
			})
		})
	}
}

// TestRetriedWaitersLeaveNoCall: cycle after cycle, a leader's client
// leaves while a Range request and a plain GET wait for its run; both join
// again, in whichever order the scheduler picks: the Range request first
// leads the next call, whose 206 hands the flight on to the GET's call
// after (TestRetriedWaiterKeepsKeyPastRangeLeader); or the GET leads
// first, and the Range request waits for it. Either way the GET's entry,
// stored under the path key the abandoned run created, is a hit after, and
// no call is left in the flight.
func TestRetriedWaitersLeaveNoCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		joined := onWaiterJoined(t)
		b := newSimple(t, nil)
		c := Must(&Options{Backend: b})
		defer c.Close()
		var calls atomic.Int32
		hangs := make(map[string]bool) // the first run of each path waits for its client to leave
		var mu sync.Mutex
		vh := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			mu.Lock()
			first := !hangs[r.URL.Path]
			hangs[r.URL.Path] = true
			mu.Unlock()
			if first {
				<-r.Context().Done()
			}
			w.Header().Set("Cache-Control", "max-age=60")
			if r.Header.Get("Range") != "" {
				w.Header().Set("Content-Range", "bytes 0-1/4")
				w.WriteHeader(http.StatusPartialContent)
				fmt.Fprint(w, "pa")
				return
			}
			fmt.Fprint(w, "page")
		}))
		v := vh.(*view)
		for i := range 20 {
			path := fmt.Sprintf("/p%d", i)
			leaderReturned := make(chan struct{})
			hangUp := serveLeader(vh, path, leaderReturned)
			var wg sync.WaitGroup
			waiters := []func(){
				func() { get(vh, path, "Range", "bytes=0-1") },
				func() { get(vh, path) },
			}
			if i%2 == 1 {
				// The GET joins first, and is often woken first: so both
				// orders come up.
				waiters[0], waiters[1] = waiters[1], waiters[0]
			}
			for _, w := range waiters {
				wg.Go(w)
				<-joined
			}
			synctest.Wait() // both wait for the leader's run
			hangUp()
			wg.Wait()
			<-leaderReturned

			n := calls.Load()
			assert.Equal(t, "page", get(vh, path).Body.String(), path)
			assert.Equal(t, n, calls.Load(), "%s: the next call's entry is a hit", path)
			_, ok := b.LoadValue(c.pathTagKey(path))
			assert.True(t, ok, "%s: the path key the entry is stored under is kept", path)
			assertFlightEmpty(t, v, path)
		}
	})
}

// assertFlightEmpty asserts that v's flight holds no call: none in flight,
// none left for a next one, no run.
func assertFlightEmpty(t *testing.T, v *view, path string) {
	t.Helper()
	v.flight.mu.Lock()
	defer v.flight.mu.Unlock()
	assert.Empty(t, v.flight.calls, "%s: no call in flight", path)
	assert.Empty(t, v.flight.left, "%s: no call left for a next one", path)
	assert.Empty(t, v.flight.running, "%s: no run", path)
}

// serveLeader serves a GET of path, the leader of its call, whose handler
// must wait for its client to leave, in a goroutine of the test's synctest
// bubble, and returns once it waits (synctest.Wait), with hangUp, which
// makes its client leave; returned is closed once its ServeHTTP returned.
func serveLeader(vh http.Handler, path string, returned chan<- struct{}) (hangUp context.CancelFunc) {
	ctx, hangUp := context.WithCancel(context.Background())
	go func() {
		defer close(returned)
		vh.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
	}()
	synctest.Wait() // the leader waits in the handler
	return hangUp
}

// retriedWaiters sets up the tests of a leader of /popular whose client
// leaves while a first request (X-Who: first) and a plain GET wait for its
// run: both join again, the GET only once the first's request returned.
// The test must not run in parallel.
type retriedWaiters struct {
	joined <-chan string
	// leaderReturned is closed once the leader's ServeHTTP returned (its
	// run ended), firstReturned once the first's did.
	leaderReturned, firstReturned chan struct{}
	wg                            sync.WaitGroup // the waiters'
	first, get                    *httptest.ResponseRecorder
}

// newRetriedWaiters holds the GET's join again (waiterRetryHook) until the
// first's request returned, until the test ends.
func newRetriedWaiters(t *testing.T) *retriedWaiters {
	rw := &retriedWaiters{joined: onWaiterJoined(t), leaderReturned: make(chan struct{}), firstReturned: make(chan struct{})}
	hook := func(_ string, r *http.Request) {
		if r.Header.Get("X-Who") != "first" {
			<-rw.firstReturned // the GET joins again last
		}
	}
	waiterRetryHook.Store(&hook)
	t.Cleanup(func() { waiterRetryHook.Store(nil) })
	return rw
}

// start serves the leader (its handler must wait for its client to leave),
// then the first (with hdr) and the GET, in a synctest bubble, and returns
// once both wait for the leader's run, with hangUp, which makes the
// leader's client leave and returns once the waiters wait no more (rw.wg:
// until they return).
func (rw *retriedWaiters) start(vh http.Handler, hdr ...string) (hangUp func()) {
	cancel := serveLeader(vh, "/popular", rw.leaderReturned) // its path key created
	rw.wg.Go(func() {
		defer close(rw.firstReturned)
		rw.first = get(vh, "/popular", append([]string{"X-Who", "first"}, hdr...)...)
	})
	<-rw.joined
	rw.wg.Go(func() { rw.get = get(vh, "/popular") })
	<-rw.joined
	synctest.Wait() // both wait for the leader's run
	return func() {
		cancel()
		synctest.Wait() // the waiters joined again, or wait to
	}
}

// TestRetriedWaiterKeepsKeyPastRangeLeader: in a SharedCache view, a
// leader's client leaves while a first request and a plain GET wait for
// its run; the first joins again first and leads the next call, whose
// answer is not stored and hands nothing to the GET: a Range's 206 (its
// request's alone), or a response refused for its own reason (private,
// too large). That run ends before the GET joins again. The GET leads the
// call after, and its run reads the path version key the abandoned run
// created; the abandoned run ends then, before the GET's stores its 200
// under the key: the key must be kept, or the entry is a miss. The first's
// call, the last of the abandoned one's chain, had no waiters of its own
// and was forgotten: the abandoned run's end found nobody to hand the key
// to, and deleted it under the GET.
func TestRetriedWaiterKeepsKeyPastRangeLeader(t *testing.T) {
	for _, tc := range []struct {
		name, rng, cc, body string
		code                int
	}{
		{"range", "bytes=0-1", "max-age=60", "pa", http.StatusPartialContent},
		{"private", "", "private, max-age=60", "mine", http.StatusOK},
		{"too large", "", "max-age=60", strings.Repeat("large ", 20), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rw := newRetriedWaiters(t)
				b := newSimple(t, nil)
				c := Must(&Options{Backend: b})
				defer c.Close()
				var calls atomic.Int32
				getRuns := make(chan struct{})
				vh := c.Cached(time.Minute, SharedCache(), MaxBodySize(64))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch calls.Add(1) {
					case 1:
						<-r.Context().Done() // and answers all the same, for nobody
						<-getRuns            // once the GET's run read the key
					case 3: // the GET's
						close(getRuns)
						<-rw.leaderReturned // stores after the abandoned run's end
					}
					if r.Header.Get("X-Who") == "first" {
						w.Header().Set("Cache-Control", tc.cc)
						if tc.code == http.StatusPartialContent {
							w.Header().Set("Content-Range", "bytes 0-1/4")
						}
						w.WriteHeader(tc.code)
						fmt.Fprint(w, tc.body)
						return
					}
					w.Header().Set("Cache-Control", "max-age=60")
					fmt.Fprint(w, "page")
				}))
				var hdr []string
				if tc.rng != "" {
					hdr = []string{"Range", tc.rng}
				}
				rw.start(vh, hdr...)()
				rw.wg.Wait()

				assert.Equal(t, tc.code, rw.first.Code, "the first's own run")
				assert.Equal(t, "page", rw.get.Body.String(), "the GET's own run")
				assert.EqualValues(t, 3, calls.Load(), "the abandoned run, the first's and the GET's")
				_, ok := b.LoadValue(c.pathTagKey("/popular"))
				assert.True(t, ok, "the path key the GET's entry is stored under is kept")
				hit := get(vh, "/popular")
				assert.Equal(t, "page", hit.Body.String())
				assert.EqualValues(t, 3, calls.Load(), "the GET's entry is a hit")
				assertFlightEmpty(t, vh.(*view), "/popular")
			})
		})
	}
}
