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

	"github.com/go-caching/caching/backend"
)

// hungReads is a remote store whose reads hang until their context ends.
type hungReads struct{ backend.Backend }

func (h hungReads) Get(ctx context.Context, key string) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestBreakerCallerDeadlineIsAFailure: a backend that stopped answering,
// behind a service whose requests all carry a deadline shorter than
// Options.Timeout (http.TimeoutHandler at 200 ms; the Timeout is 500 ms),
// must open the breaker: were the calls that the callers' deadlines ended
// not counted, every request would wait its whole deadline and fail (503),
// for ever, where without the cache it is served at once.
func TestBreakerCallerDeadlineIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		checkBreakerOpensUnderTimeoutHandler(t, 200*time.Millisecond, 5)

		// The direct API, under the caller's deadline, the same.
		c2 := hungCache(t, time.Second, 2, time.Hour)
		defer c2.Close()
		for range 2 {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			_, err := c2.Get(ctx, "k")
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
		assert.Equal(t, "open", c2.Stats().Breaker)
	})
}

// TestBreakerCallerCancelIsNotAFailure: a call that its caller cancelled
// (the client left) says nothing of the backend: it never opens the
// breaker.
func TestBreakerCallerCancelIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := hungCache(t, time.Second, 2, time.Hour)
		defer c.Close()
		for range 5 {
			ctx, cancel := context.WithCancel(t.Context())
			go func() { time.Sleep(10 * time.Millisecond); cancel() }()
			_, err := c.Get(ctx, "k")
			require.ErrorIs(t, err, context.Canceled)
		}
		assert.Equal(t, "closed", c.Stats().Breaker, "clients that left say nothing of the backend")
	})
}

// hungCache returns a Cache on a store whose reads never answer
// (hungReads), with Options.Timeout timeout and a breaker that threshold
// failures open for cooldown. The caller closes it.
func hungCache(t *testing.T, timeout time.Duration, threshold int, cooldown time.Duration) *Cache {
	return Must(&Options{Backend: hungReads{newSimple(t, nil)}, Timeout: timeout,
		Breaker: BreakerOptions{Threshold: threshold, Cooldown: cooldown}})
}

// checkBreakerOpensUnderTimeoutHandler checks that 50 requests for a page
// cached on a store whose reads never answer (Options.Timeout 500 ms, a
// breaker that 5 failures open), each under http.TimeoutHandler with
// deadline d, open the breaker, with at most maxFailed of them failing
// (503) only because the cache waited on the dead backend.
func checkBreakerOpensUnderTimeoutHandler(t *testing.T, d time.Duration, maxFailed int) {
	t.Helper()
	c := hungCache(t, 500*time.Millisecond, 5, time.Minute)
	defer c.Close()
	failed := failedUnderTimeoutHandler(c, d, 50)
	assert.Equal(t, "open", c.Stats().Breaker, "a backend that answers nothing opens the breaker")
	assert.LessOrEqual(t, failed, maxFailed, "requests that failed (503) only because the cache waited on a dead backend")
}

// failedUnderTimeoutHandler serves n requests for one page cached by c,
// under http.TimeoutHandler with deadline d, one after the other (in a
// synctest bubble), and returns how many failed.
func failedUnderTimeoutHandler(c *Cache, d time.Duration, n int) int {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
	h := http.TimeoutHandler(c.Cached(time.Minute)(page), d, "timeout")
	failed := 0
	for range n {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/p", nil))
		if w.Code != http.StatusOK {
			failed++
		}
		// TimeoutHandler answers when the deadline passes, while the
		// handler's goroutine is still counting its failed lookup: let
		// it finish before the next request (under -race the next
		// request could start first, and wait too).
		synctest.Wait()
	}
	return failed
}
