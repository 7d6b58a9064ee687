package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// slowGetRemote is remote whose Get, once slow is set, stands for a
// backend slower than any Options.Timeout: under a context with a deadline
// it answers only when the context ends; under one without a deadline (a
// wait nothing bounds) it answers at once, as the slow backend would in
// the end. Neither takes a wall-clock wait of its own.
type slowGetRemote struct {
	remote
	slow bool
}

func (s *slowGetRemote) Get(ctx context.Context, key string) ([]byte, error) {
	if _, bounded := ctx.Deadline(); s.slow && bounded {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.remote.Get(ctx, key)
}

// TestBreakerSlowDirectProbeKeepsItOpen: the probe of a tripped breaker
// was bounded by Options.Timeout only when it came from a fail-open call.
// A direct-API call under a context without a deadline could be the probe,
// answer after several Timeouts, and close the breaker on a backend too
// slow for every request that fails open: each of them then paid the
// Timeout until the breaker opened again. The probe is now bounded
// whoever makes it.
func TestBreakerSlowDirectProbeKeepsItOpen(t *testing.T) {
	clock := testutil.NewClock()
	r := &slowGetRemote{remote: remote{Backend: newSimple(t, clock)}}
	c := newProbeCache(t, r, clock)
	require.NoError(t, c.Set(context.Background(), "k", []byte("v"), time.Hour))

	openForProbe(t, c, &r.remote, clock)
	r.slow = true

	_, err := c.Get(context.Background(), "k")
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the probe is bounded by Options.Timeout: it did not wait for the slow answer")
	assert.Equal(t, "open", c.Stats().Breaker, "a probe slower than Options.Timeout does not close the breaker")
}

// probeTimeout is the Options.Timeout of a Cache of newProbeCache.
const probeTimeout = 50 * time.Millisecond

// newProbeCache returns a Cache over b on clock, bounded by probeTimeout,
// whose breaker one failure opens for 10 s (see openForProbe); closed as
// the test ends.
func newProbeCache(t *testing.T, b backend.Backend, clock *testutil.Clock) *Cache {
	c := Must(&Options{Backend: b, Clock: clock.Now, Timeout: probeTimeout,
		Breaker: BreakerOptions{Threshold: 1, Cooldown: 10 * time.Second}})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// openForProbe opens the breaker of c, a Cache of newProbeCache over r, by
// a call r fails, lets r answer again, and moves clock past the
// cool-down: c's next call is the probe.
func openForProbe(t *testing.T, c *Cache, r *remote, clock *testutil.Clock) {
	t.Helper()
	r.fail.Store(true)
	_, _ = c.Get(context.Background(), "k") // fails: the breaker opens
	require.Equal(t, "open", c.Stats().Breaker)
	r.fail.Store(false)
	clock.Advance(11 * time.Second) // the next call is the probe
}
