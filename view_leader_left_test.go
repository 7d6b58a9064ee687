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
	"github.com/stretchr/testify/require"
)

// abandonedFirst is a handler whose first run does not stop on its
// request's cancellation (a database query without the request's context,
// a template render): it ends only when finish is closed.
func abandonedFirst(finish chan struct{}) *counter {
	var first atomic.Bool
	return &counter{body: "page", fn: func(http.ResponseWriter, *http.Request) {
		if first.CompareAndSwap(false, true) {
			<-finish
		}
	}}
}

// When the client of a miss's leader disconnects, its waiters elect a new
// leader at once, not once the abandoned run has ended: a handler that
// ignores the cancellation would otherwise make them wait for its whole run
// for nobody, then for a second one. One client asking for a popular page
// as its entry expires and hanging up at once must not double everyone's
// wait.
func TestLeaderLeftReleasesWaitersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		finish := make(chan struct{})
		h := abandonedFirst(finish)
		view := c.Cached(time.Minute)(h)

		ctx, hangUp := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/popular", nil).WithContext(ctx)
			view.ServeHTTP(httptest.NewRecorder(), r)
		})
		synctest.Wait() // the leader runs the handler
		got := make(chan *httptest.ResponseRecorder, 1)
		wg.Go(func() { got <- get(view, "/popular") })
		synctest.Wait() // a waiter waits for its run
		hangUp()        // the leader's client leaves
		synctest.Wait()
		select {
		case w := <-got:
			assert.Equal(t, "page #2", w.Body.String(), "the waiter's own run")
		default:
			t.Error("the waiter still waits for the run of a client that left")
		}
		close(finish)
		wg.Wait()
		assert.Equal(t, int64(2), h.calls.Load())
		assert.Equal(t, "page #2", get(view, "/popular").Body.String(),
			"the abandoned run stored nothing over the waiter's")
	})
}

// The same across processes: the leader's lease is handed on as soon as its
// client leaves, so that another process's waiter takes it and runs,
// rather than waiting for the abandoned run (or the lease's whole time).
func TestLeaderLeftHandsLeaseOnAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &remote{Backend: newSimple(t, nil)}
		open := func() *Cache {
			c, err := New(&Options{Backend: s, Lease: time.Hour})
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			return c
		}
		finish := make(chan struct{})
		h := abandonedFirst(finish)
		a, b := open().Cached(time.Minute)(h), open().Cached(time.Minute)(h)

		ctx, hangUp := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/popular", nil).WithContext(ctx)
			a.ServeHTTP(httptest.NewRecorder(), r)
		})
		synctest.Wait() // a's leader holds the lease and runs the handler
		got := make(chan *httptest.ResponseRecorder, 1)
		wg.Go(func() { got <- get(b, "/popular") })
		synctest.Wait() // b's request waits on the lease
		hangUp()
		select {
		case w := <-got:
			assert.Equal(t, "page #2", w.Body.String(), "b's own run")
		case <-time.After(time.Minute): // well within the lease's hour
			t.Error("the other process's waiter still waits for the run of a client that left")
		}
		close(finish)
		wg.Wait()
		assert.Equal(t, int64(2), h.calls.Load())
	})
}
