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

// TestBreakerShortCallerDeadlineIsNotAFailure: a caller's deadline that
// left a call less than 100 ms (a job nearly out of time, a request whose
// budget was spent upstream) counted as a failure of the backend when it
// expired: a few such callers opened the breaker on a backend that answers
// its other callers, and every request was served uncached for a
// cool-down. As the Redis store's health of a Cluster's masters does, such
// a deadline now says nothing of the backend; a longer one, and the
// Cache's own Options.Timeout (even under 100 ms), still count.
func TestBreakerShortCallerDeadlineIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := hungCache(t, 500*time.Millisecond, 2, time.Hour)
		defer c.Close()
		// Threshold of them in a row, with no success between, are
		// excused; more would count (a backend that answers no one:
		// breaker_short_deadlines_only_test.go).
		for n := range 2 {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			_, err := c.Get(ctx, "k")
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded, "call %d", n)
		}
		assert.Equal(t, "closed", c.Stats().Breaker, "short caller deadlines say nothing of the backend")

		// The Cache's own Timeout (a fail-open caller's: Cached), under
		// 100 ms, counts: a hung backend opens the breaker.
		fast := hungCache(t, 50*time.Millisecond, 2, time.Hour)
		defer fast.Close()
		for range 2 {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			_, _ = fast.Get(ctx, "k") // the caller's, shorter than the Timeout: not counted
			cancel()
		}
		assert.Equal(t, "closed", fast.Stats().Breaker)
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
		h := fast.Cached(time.Minute)(page)
		for range 2 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil))
			synctest.Wait()
		}
		assert.Equal(t, "open", fast.Stats().Breaker, "the Cache's own Timeout counts, however short")
	})
}
