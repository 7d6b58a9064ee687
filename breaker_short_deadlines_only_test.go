package caching

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a caller's deadline that left a call under 100 ms is not
// counted against the backend (b266988), so a service whose every request
// carries such a deadline (http.TimeoutHandler at 50 ms, a gRPC client's
// own short deadline) never opened the breaker on a backend that stopped
// answering: every request waited its whole deadline and failed (503), for
// ever, where without the cache it is served at once. Short deadlines are
// excused only while the backend answers someone: Threshold of them in a
// row with no success between, and the next count as failures.
func TestBreakerOnlyShortDeadlinesStillOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		checkBreakerOpensUnderTimeoutHandler(t, 50*time.Millisecond, 10)
	})
}

// A backend that answers its other callers is not blamed for the short
// deadlines between their successes, however many: the successes excuse
// them again.
func TestBreakerShortDeadlinesBetweenSuccessesAreExcused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &slowRemote{remote: remote{Backend: newSimple(t, nil)}, delay: 20 * time.Millisecond}
		c := Must(&Options{Backend: b, Timeout: 500 * time.Millisecond,
			Breaker: BreakerOptions{Threshold: 2, Cooldown: time.Hour}})
		defer c.Close()
		for n := range 20 {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
			_, err := c.Get(ctx, "k")
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded, "call %d", n)
			if n%2 == 1 {
				_, err = c.Get(t.Context(), "k") // another caller, answered
				require.ErrorIs(t, err, ErrNotFound)
			}
		}
		assert.Equal(t, "closed", c.Stats().Breaker)
	})
}
