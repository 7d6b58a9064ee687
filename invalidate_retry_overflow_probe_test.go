package caching

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// slowClear is a remote whose Clear takes longer than Options.Timeout (a
// scan of a large Redis database), though far less than retryClearTimeout.
type slowClear struct {
	*remote
	delay time.Duration
}

func (s slowClear) Clear(ctx context.Context) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.remote.Clear(ctx)
}

// TestInvalidateRetryOverflowClearNotTheProbe: after an outage that
// overflowed the retry set, the backend is back and nothing else calls
// it. The retry's clear was the breaker's probe, which Options.Timeout
// bounds: a clear slower than that failed and opened the breaker again on
// every retry, and every lookup stayed a miss for ever. A read probes the
// backend first now, and the clear has its own bound.
func TestInvalidateRetryOverflowClearNotTheProbe(t *testing.T) {
	for _, delay := range []time.Duration{10 * time.Millisecond, 300 * time.Millisecond} {
		t.Run(fmt.Sprint("clear=", delay), func(t *testing.T) {
			r := &remote{Backend: newSimple(t, nil)}
			c := Must(&Options{Backend: slowClear{r, delay}, Timeout: 50 * time.Millisecond,
				Breaker: BreakerOptions{Threshold: 1, Cooldown: 20 * time.Millisecond}})
			t.Cleanup(func() { c.Close() })
			r.fail.Store(true)
			_ = c.InvalidateTags(context.Background(), "t") // opens the breaker
			for i := range maxPendingInvalidations + 1 {
				c.retryInvalidation("test", []string{fmt.Sprint("p/junk", i)}, errDown)
			}
			r.fail.Store(false) // the backend is back, with no other traffic
			require.Eventually(t, func() bool { return c.Stats().PendingInvalidations == 0 }, 10*time.Second, 10*time.Millisecond,
				"the overflow never resolved: pending=%d breaker=%s", c.Stats().PendingInvalidations, c.Stats().Breaker)
			require.Equal(t, "closed", c.Stats().Breaker)
		})
	}
}
