package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withDeadline bounds each request's time with a context deadline, as a
// timeout middleware does.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// slowOrEnded is a handler whose runs for requests with X-Slow wait until
// slow is closed, and which answers a request whose context ended with its
// own 503.
func slowOrEnded(slow chan struct{}) *counter {
	return &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" {
			<-slow
		}
		if r.Context().Err() != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}}
}

// A server that bounds each request's time with a context deadline (a
// timeout middleware): a request that waits for another process's run
// (the lease) past its deadline, its client still there, used to get an
// empty 200 OK, a response the handler never makes. It gets the handler's
// own answer, as without the cache (here, its 503 for a context that
// ended), which is not stored.
func TestLeaseWaiterDeadlineAnswersEmpty200(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Minute})
		slow := make(chan struct{})
		h := slowOrEnded(slow)
		va, vb := a.Cached(time.Hour)(h), withDeadline(200*time.Millisecond, b.Cached(time.Hour)(h))
		done := make(chan struct{})
		go func() { get(va, "/p", "X-Slow", "1"); close(done) }()
		synctest.Wait() // a holds the lease, its handler runs

		w := get(vb, "/p")
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, "the handler's answer to a request past its deadline")
		assert.Equal(t, "page #2", w.Body.String())
		assert.Equal(t, "text/plain", w.Header().Get("Content-Type"))
		assert.Equal(t, int64(1), b.Stats().Bypasses)
		close(slow)
		<-done
		w = get(b.Cached(time.Hour)(h), "/p")
		assert.Equal(t, "page #1", w.Body.String(), "a's response, not the 503, is stored")
	})
}

// The same in one process, without a lease: a request that waits in the
// flight of its key past its deadline used to get an empty 200 OK. The
// handler answers it, and its response is neither stored nor handed to
// other waiters.
func TestFlightWaiterDeadlineAnswersEmpty200(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{Backend: newSimple(t, nil)})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		slow := make(chan struct{})
		h := slowOrEnded(slow)
		v := c.Cached(time.Hour)(h)
		done := make(chan struct{})
		go func() { get(v, "/p", "X-Slow", "1"); close(done) }()
		synctest.Wait() // the leader's handler runs
		waiter := make(chan *httptest.ResponseRecorder)
		go func() { waiter <- get(v, "/p") }() // waits without a deadline
		synctest.Wait()

		w := get(withDeadline(200*time.Millisecond, v), "/p")
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, "the handler's answer to a request past its deadline")
		assert.Equal(t, "page #2", w.Body.String())
		assert.Equal(t, int64(1), c.Stats().Bypasses)
		close(slow)
		<-done
		w = <-waiter
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "page #1", w.Body.String(), "the other waiter gets the leader's response")
		assert.Equal(t, "page #1", get(v, "/p").Body.String(), "the leader's response is stored")
	})
}

// A waiter whose client leaves (its context cancelled, as net/http does
// when the connection closes) still runs nothing: nobody is there to read
// an answer.
func TestFlightWaiterClientLeavingRunsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{Backend: newSimple(t, nil)})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		slow := make(chan struct{})
		h := slowOrEnded(slow)
		v := c.Cached(time.Hour)(h)
		done := make(chan struct{})
		go func() { get(v, "/p", "X-Slow", "1"); close(done) }()
		synctest.Wait()

		ctx, cancel := context.WithCancel(context.Background())
		left := make(chan struct{})
		go func() {
			v.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil).WithContext(ctx))
			close(left)
		}()
		synctest.Wait() // it waits for the leader
		cancel()
		<-left
		assert.Equal(t, int64(1), h.calls.Load(), "the handler ran for a client that left")
		close(slow)
		<-done
	})
}
