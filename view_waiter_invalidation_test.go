package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a view's waiter was checked against the tag and path versions
// its leader read (one read of them, failing open) and the retry set, not
// against the invalidations of its own process, which Memoize's joiners
// count (store.invalidations): a request made after InvalidateTags,
// InvalidatePath or an InvalidateOnWrite write returned nil could be
// handed the response of a run that began before it.
//
// TestViewWaiterAfterInvalidationVersionsReadFails: a request that came after
// InvalidateTags returned nil joins a run that began before it, and is
// handed that run's response (made from the data the invalidation ended)
// when the one read of the versions that checks it fails: current() fails
// open, although this very process made the invalidation and knows of it
// (store.invalidations, which Memoize's joiners check). A Memoize joiner in
// the same situation computes again.
func TestViewWaiterAfterInvalidationVersionsReadFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}})
		t.Cleanup(func() { c.Close() })
		var data, runs atomic.Int64
		data.Store(1)
		started := make(chan struct{}, 1)
		release := make(chan struct{})
		h := c.Cached(time.Hour, Tags("items"), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			d := data.Load()
			if runs.Add(1) == 1 {
				started <- struct{}{}
				<-release
			}
			fmt.Fprint(w, d)
		}))
		leader := make(chan *httptest.ResponseRecorder, 1)
		go func() { leader <- get(h, "/items/1") }()
		<-started

		data.Store(2)
		require.NoError(t, c.InvalidateTags(context.Background(), "items"))

		// A request made after the invalidation returned: it misses, and joins
		// the run in progress.
		waiter := make(chan *httptest.ResponseRecorder, 1)
		go func() { waiter <- get(h, "/items/1") }()
		synctest.Wait()    // the waiter joined the run
		r.fail.Store(true) // a blip of the backend as the run ends
		close(release)
		<-leader
		w := <-waiter
		assert.Equal(t, "2", w.Body.String(), "a request made after InvalidateTags returned nil got the response made before it (X-Cache: %s)", w.Header().Get("X-Cache"))
	})
}

// TestViewWaiterAfterInvalidationLeaderBeganDown: the same without any
// failure after the invalidation: the leader's run began while the backend
// failed (it read no versions: its response is handed to its waiters as a
// BYPASS, with nothing to check), the backend answers again, InvalidateTags
// returns nil, and a request made after it joins the run and gets the
// response made from the data before the invalidation.
func TestViewWaiterAfterInvalidationLeaderBeganDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}})
		t.Cleanup(func() { c.Close() })
		var data, runs atomic.Int64
		data.Store(1)
		started := make(chan struct{}, 1)
		release := make(chan struct{})
		h := c.Cached(time.Hour, Tags("items"), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			d := data.Load()
			if runs.Add(1) == 1 {
				started <- struct{}{}
				<-release
			}
			fmt.Fprint(w, d)
		}))
		r.fail.Store(true) // a blip as the first request comes
		leader := make(chan *httptest.ResponseRecorder, 1)
		go func() { leader <- get(h, "/items/1") }()
		<-started
		r.fail.Store(false)

		data.Store(2)
		require.NoError(t, c.InvalidateTags(context.Background(), "items"))

		waiter := make(chan *httptest.ResponseRecorder, 1)
		go func() { waiter <- get(h, "/items/1") }()
		synctest.Wait() // the waiter joined the run
		close(release)
		<-leader
		w := <-waiter
		assert.Equal(t, "2", w.Body.String(), "a request made after InvalidateTags returned nil got the response made before it (X-Cache: %s)", w.Header().Get("X-Cache"))
	})
}

// TestViewWaiterAfterWriteLeaderBeganDown: InvalidateOnWrite's promise, "the
// client's next GET sees its write", broken the same way: a GET that began
// during a blip of the backend (no versions read) is still running when the
// backend answers again and a POST to the path returns (its invalidation
// succeeded); the client's next GET joins that run and gets the page from
// before its write.
func TestViewWaiterAfterWriteLeaderBeganDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}})
		t.Cleanup(func() { c.Close() })
		var data, runs atomic.Int64
		data.Store(1)
		started := make(chan struct{}, 1)
		release := make(chan struct{})
		view := c.Cached(time.Hour, InvalidateOnWrite(), CacheStatusHeader("X-Cache"))
		mux := http.NewServeMux()
		mux.Handle("GET /items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			d := data.Load()
			if runs.Add(1) == 1 {
				started <- struct{}{}
				<-release
			}
			fmt.Fprint(w, d)
		})))
		mux.Handle("POST /items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			data.Store(2)
			w.WriteHeader(http.StatusNoContent)
		})))
		r.fail.Store(true)
		leader := make(chan *httptest.ResponseRecorder, 1)
		go func() { leader <- get(mux, "/items/1") }()
		<-started
		r.fail.Store(false)

		require.Equal(t, http.StatusNoContent, send(mux, http.MethodPost, "/items/1").Code)
		require.Zero(t, c.Stats().PendingInvalidations, "the write's invalidation succeeded")

		waiter := make(chan *httptest.ResponseRecorder, 1)
		go func() { waiter <- get(mux, "/items/1") }() // the writer's next GET
		synctest.Wait()                                // the waiter joined the run
		close(release)
		<-leader
		w := <-waiter
		assert.Equal(t, "2", w.Body.String(), "the GET after the POST did not see its write (X-Cache: %s)", w.Header().Get("X-Cache"))
	})
}

// TestViewWaiterAfterUnrelatedInvalidationShares: the check above does not
// cost a run: a waiter that came after an invalidation of other tags
// joins again, and finds the response the run stored; the handler runs
// once.
func TestViewWaiterAfterUnrelatedInvalidationShares(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c := Must(&Options{Backend: r})
		t.Cleanup(func() { c.Close() })
		var runs atomic.Int64
		started := make(chan struct{}, 1)
		release := make(chan struct{})
		h := c.Cached(time.Hour, Tags("items"), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := runs.Add(1)
			if n == 1 {
				started <- struct{}{}
				<-release
			}
			fmt.Fprint(w, n)
		}))
		leader := make(chan *httptest.ResponseRecorder, 1)
		go func() { leader <- get(h, "/items/1") }()
		<-started
		require.NoError(t, c.InvalidateTags(context.Background(), "users"))

		waiter := make(chan *httptest.ResponseRecorder, 1)
		go func() { waiter <- get(h, "/items/1") }()
		synctest.Wait() // the waiter joined the run
		close(release)
		<-leader
		w := <-waiter
		assert.Equal(t, "1", w.Body.String(), "X-Cache: %s", w.Header().Get("X-Cache"))
		assert.Equal(t, int64(1), runs.Load(), "handler runs")
	})
}
