package caching

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestWarmUnderTimeoutHandler: Warm through http.TimeoutHandler (a
// standard middleware in front of a mux of views) whose page is slower
// than the handler's limit: TimeoutHandler answers 503 and returns while
// the view still runs on a goroutine of its own. The target is reported
// failed, by the timeout, not as a panic, and the view's later outcome
// does not race with Warm's read of it (run with -race).
func TestWarmUnderTimeoutHandler(t *testing.T) {
	// The limit must pass while the view runs, not before the request
	// reaches it (then Warm rightly says it reached no view): on a loaded
	// machine 1 ms may pass before, and the run is made again with a
	// longer one.
	for limit := time.Millisecond; ; limit *= 4 {
		if warmUnderTimeoutHandler(t, limit) || limit > time.Second {
			return
		}
	}
}

// warmUnderTimeoutHandler is TestWarmUnderTimeoutHandler with a
// TimeoutHandler of limit. It reports false, having checked nothing, when
// the limit passed before the request reached the view.
func warmUnderTimeoutHandler(t *testing.T, limit time.Duration) bool {
	c := Must(nil)
	defer c.Close()
	release := make(chan struct{})
	viewDone := make(chan struct{})
	page := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = w.Write([]byte("slow page"))
	}))
	h := http.TimeoutHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(viewDone)
		page.ServeHTTP(w, r)
	}), limit, "timeout")
	rep := c.Warm(context.Background(), h, WarmTarget{URL: "https://shop.example/slow"})
	close(release)
	<-viewDone // the view has finished its run, and written what it did
	c.wait()   // the delete of the path key it created, made after
	res := rep.Results[0]
	if errors.Is(res.Err, errNoView) && limit <= time.Second {
		return false
	}
	assert.NotEqual(t, "panic", res.Reason, "no handler panicked: %+v", res)
	assert.Equal(t, 1, rep.Failed, "the handler chain gave up on the view: %+v", rep)
	assert.True(t, errors.Is(res.Err, context.DeadlineExceeded), "failed by the timeout: %v", res.Err)
	assert.False(t, res.Stored)
	assert.Zero(t, c.Stats().Entries, "a target reported failed stores nothing")
	return true
}

// TestWarmMiddlewareRecoveredPanic: a middleware that recovers a panic of
// the handler below the view (and answers 500 itself) leaves the target
// refused with the reason "panic", as before.
func TestWarmMiddlewareRecoveredPanic(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	page := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		page.ServeHTTP(w, r)
	})
	rep := c.Warm(context.Background(), h, WarmTarget{URL: "https://shop.example/p"})
	res := rep.Results[0]
	assert.Equal(t, "panic", res.Reason, "%+v", res)
	assert.NoError(t, res.Err)
}
