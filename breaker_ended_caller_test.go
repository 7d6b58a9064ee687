package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// ctxRemote is remote that, as network clients do, answers a call whose
// context has already ended with the context's error, without a round trip.
type ctxRemote struct{ remote }

func (r *ctxRemote) Get(ctx context.Context, k string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.remote.Get(ctx, k)
}

func (r *ctxRemote) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.remote.GetMany(ctx, keys)
}

// TestBreakerEndedCallerIsNotAFailure: a call made with a context
// whose deadline had already passed (a handler still running after
// http.TimeoutHandler gave up on it, a job past its deadline) was counted
// as a failure of the backend, which the call never reached: a few such
// callers opened the breaker on a healthy backend, and every other
// request was served uncached for a cool-down.
func TestBreakerEndedCallerIsNotAFailure(t *testing.T) {
	r := &ctxRemote{remote{Backend: newSimple(t, nil)}}
	c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 2, Cooldown: time.Hour}})
	defer c.Close()
	m := Memoize(c, "f", func(_ context.Context, i int) (int, error) { return i, nil })
	ended, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	for range 3 {
		_, err := c.Get(ended, "k")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		_, _ = m.Get(ended, 7)
	}
	assert.Equal(t, "closed", c.Stats().Breaker, "the backend was never reached")
	_, err := c.Get(t.Context(), "k")
	assert.ErrorIs(t, err, ErrNotFound, "the backend is still used")
}
