package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// heldAfterFuncCtx is a request context whose cancellation the test makes
// (hangUp), and whose context.AfterFunc callbacks run only when the test
// says (runHeld): a goroutine that net/http's own context would start at
// once, made late, as a loaded machine makes it.
type heldAfterFuncCtx struct {
	context.Context // values and deadline: none
	done            chan struct{}
	mu              sync.Mutex
	fns             []*heldFunc
}

type heldFunc struct {
	f       func()
	stopped bool
}

func newHeldAfterFuncCtx() *heldAfterFuncCtx {
	return &heldAfterFuncCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *heldAfterFuncCtx) Done() <-chan struct{} { return c.done }

func (c *heldAfterFuncCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// AfterFunc is what context.AfterFunc calls on a context that has one.
func (c *heldAfterFuncCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &heldFunc{f: f}
	c.fns = append(c.fns, h)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := h.stopped
		h.stopped = true
		return !was
	}
}

func (c *heldAfterFuncCtx) hangUp() { close(c.done) }

// runHeld runs the callbacks registered and not stopped, each once.
func (c *heldAfterFuncCtx) runHeld() {
	c.mu.Lock()
	var fns []func()
	for _, h := range c.fns {
		if !h.stopped {
			h.stopped = true
			fns = append(fns, h.f)
		}
	}
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// TestLeaderLeftRefusalRetriesWaiters: a leader's client leaves, and its
// handler's next step refuses the response (a flush, as package compress
// makes once the request's context is cancelled) before releaseIfLeft's
// release, which runs on a goroutine of its own, comes. The waiter must
// still wait for a new leader (a retry), not run the handler on its own:
// outside any flight, it read the path version key that the abandoned run
// created, which that run's end then deleted, and its entry, stored under
// the deleted version, was lost: the next request ran the handler again.
func TestLeaderLeftRefusalRetriesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		joined := onWaiterJoined(t)
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		leaderReturned, waiterRuns := make(chan struct{}), make(chan struct{})
		var waiterRan sync.Once
		var first atomic.Bool
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			if first.CompareAndSwap(false, true) {
				_, _ = w.Write([]byte("half of the "))
				<-r.Context().Done()
				w.(http.Flusher).Flush() // refused: a stream
				<-waiterRuns             // which read the path version key
				return
			}
			waiterRan.Do(func() { close(waiterRuns) })
			<-leaderReturned // the waiter stores after the abandoned run ended
		}}
		view := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)

		ctx := newHeldAfterFuncCtx()
		got := leaderAndWaiter(view, ctx, leaderReturned, joined)
		ctx.hangUp() // releaseIfLeft's release held back
		w := <-got
		ctx.runHeld()
		synctest.Wait()
		assertWaitersEntryHit(t, view, h, w)
	})
}

// leaderAndWaiter starts a leader of "/popular" with ctx, closing returned
// when its ServeHTTP returns, and once it waits in the handler, a waiter,
// whose response it returns once the waiter waits for the leader's run.
// Called in a synctest bubble.
func leaderAndWaiter(view http.Handler, ctx context.Context, returned chan struct{}, joined <-chan string) <-chan *httptest.ResponseRecorder {
	go func() {
		defer close(returned)
		r := httptest.NewRequest(http.MethodGet, "/popular", nil).WithContext(ctx)
		view.ServeHTTP(httptest.NewRecorder(), r)
	}()
	synctest.Wait() // the leader waits in the handler
	got := make(chan *httptest.ResponseRecorder, 1)
	go func() { got <- get(view, "/popular") }()
	<-joined
	synctest.Wait() // the waiter waits for the leader's run
	return got
}

// assertWaitersEntryHit asserts that w, the waiter's response, is the
// second run's page, and that the next request is a hit of it: two runs.
func assertWaitersEntryHit(t *testing.T, view http.Handler, h *counter, w *httptest.ResponseRecorder) {
	t.Helper()
	assert.Equal(t, "page #2", w.Body.String(), "the waiter's page")
	w = get(view, "/popular")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, "page #2", w.Body.String())
	assert.Equal(t, int64(2), h.calls.Load(), "the abandoned run and the waiter's")
}
