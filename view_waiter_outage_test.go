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
)

// While the backend is down, a view's concurrent misses still run the
// handler once (the leader's response is handed to its waiters as a
// BYPASS). Regression of 9bde7e3: any invalidation this process attempted
// while a run was in progress (one of an unrelated tag, which failed and
// counted all the same, or the retry goroutine's periodic attempt at a
// write's failed invalidation) made every waiter that came after it rejoin: the
// response was not stored (the backend is down), so the rejoined waiter
// ran the handler again and the others waited for that second run: twice
// as long as without the cache. Failed invalidations count no more (the
// retry set answers for their keys).
func TestViewWaitersShareRunDespiteFailedInvalidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c := Must(&Options{Backend: r})
		t.Cleanup(func() { c.Close() })
		r.fail.Store(true) // the backend is down for the whole test
		var runs atomic.Int64
		started := make(chan struct{}, 1)
		h := c.Cached(time.Hour, Tags("items"), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := runs.Add(1)
			if n == 1 {
				started <- struct{}{}
			}
			time.Sleep(time.Second) // the handler's usual time
			fmt.Fprint(w, n)
		}))
		leader := make(chan *httptest.ResponseRecorder, 1)
		go func() { leader <- get(h, "/items/1") }()
		<-started
		// Another user's write elsewhere on the site: its invalidation
		// fails (the backend is down) and waits for its retry.
		_ = c.InvalidateTags(context.Background(), "users")

		const n = 3
		start := time.Now()
		waiters := make(chan *httptest.ResponseRecorder, n)
		var took [n]time.Duration
		for i := range n {
			go func() {
				w := get(h, "/items/1")
				took[i] = time.Since(start)
				waiters <- w
			}()
		}
		<-leader
		for range n {
			w := <-waiters
			assert.Equal(t, "1", w.Body.String(), "X-Cache: %s", w.Header().Get("X-Cache"))
		}
		assert.Equal(t, int64(1), runs.Load(), "handler runs for one burst of a page while the backend is down")
		for i := range n {
			assert.LessOrEqual(t, took[i], time.Second, "a waiter took longer than the handler without the cache")
		}
	})
}

// The same with no invalidation during the run at all: a write made before
// the burst, while the backend was down, left its invalidation to the retry
// goroutine, whose failing attempts (100 ms, 200 ms, 400 ms apart...) each
// counted as an invalidation of this process. Every waiter that came after
// one of them, during a run, rejoined and waited for a second run.
func TestViewWaitersShareRunDespiteRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c := Must(&Options{Backend: r})
		t.Cleanup(func() { c.Close() })
		r.fail.Store(true)
		_ = c.InvalidateTags(context.Background(), "users") // fails: retried in the background
		var runs atomic.Int64
		h := c.Cached(time.Hour, Tags("items"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := runs.Add(1)
			time.Sleep(time.Second)
			fmt.Fprint(w, n)
		}))
		leader := make(chan *httptest.ResponseRecorder, 1)
		go func() { leader <- get(h, "/items/1") }()
		time.Sleep(500 * time.Millisecond) // the retry goroutine tried meanwhile
		w := get(h, "/items/1")            // joins the run in progress
		<-leader
		assert.Equal(t, "1", w.Body.String())
		assert.Equal(t, int64(1), runs.Load(), "handler runs for two concurrent requests while the backend is down")
	})
}
