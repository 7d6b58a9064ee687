package caching

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The same outage as TestMemoCallersShareComputationDespiteRetries, but the
// retry set overflowed (more than maxPendingInvalidations tags invalidated
// while the backend is down): the retry goroutine then retries with
// clearOverflow, whose store.clear counted every failing attempt in
// store.invalidations (its deferred Add), so concurrent callers of a
// memoized function rejoined and then ran fn alone (a review of e38cb2a).
// The breaker is disabled here (Threshold -1); with the default breaker the
// same happens for the attempts made before it trips.
func TestMemoCallersShareComputationDespiteOverflowRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: -1}})
		t.Cleanup(func() { c.Close() })
		r.fail.Store(true)
		tags := make([]string, maxPendingInvalidations+1)
		for i := range tags {
			tags[i] = fmt.Sprint("t", i)
		}
		_ = c.InvalidateTags(context.Background(), tags...) // fails: the retry set overflows
		var runs atomic.Int64
		m := Memoize(c, "slow", func(_ context.Context, n int) (int64, error) {
			time.Sleep(time.Second)
			return runs.Add(1), nil
		})
		first := make(chan int64, 1)
		go func() {
			v, err := m.Get(context.Background(), 1)
			assert.NoError(t, err)
			first <- v
		}()
		time.Sleep(500 * time.Millisecond)       // the retry goroutine tried meanwhile
		v, err := m.Get(context.Background(), 1) // joins the computation in flight
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
		assert.Equal(t, int64(1), <-first)
		assert.Equal(t, int64(1), runs.Load(), "fn's runs for two concurrent calls while the backend is down")
	})
}
