package flight_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/flight"
)

// TestRejoinedDetachedCallCountsOnce: a caller that joins work
// already running detached, and then leaves too, detached it a second
// time, and the Group counted it twice while finish uncounted it once. A
// few slow keys whose impatient callers come and go used up MaxDetached
// for good: every abandoned call was cancelled from then on, though none
// ran detached, so that a slow function's result never reached the cache.
func TestRejoinedDetachedCallCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[int, int]
		var cancelled atomic.Int32
		var release chan struct{}
		work := func(release chan struct{}) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				select {
				case <-release:
					return 1, nil
				case <-ctx.Done():
					cancelled.Add(1)
					return 0, ctx.Err()
				}
			}
		}
		abandon := func(key int) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			fn := work(release)
			go func() {
				defer close(done)
				_, _, _ = g.Do(ctx, key, fn)
			}()
			synctest.Wait()
			cancel()
			<-done
			synctest.Wait()
		}
		// Slow calls, each asked for and left twice, then finished: none
		// runs detached any more.
		for key := range flight.MaxDetached {
			release = make(chan struct{})
			abandon(key)
			abandon(key)
			close(release)
			synctest.Wait()
		}
		assert.Zero(t, cancelled.Load())

		release = make(chan struct{})
		defer close(release)
		abandon(-1)
		assert.Zero(t, cancelled.Load(), "the only abandoned call runs on")
	})
}
