package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// While the backend is down, concurrent calls of a memoized function still
// run fn once. Each failing attempt of the retry goroutine at an earlier
// write's failed invalidation counted as an invalidation of this process
// (100 ms, 200 ms, 400 ms… apart), so every caller that joined a
// computation after one rejoined, up to three times, then ran fn alone:
// an outage made the function's callers run it several times over. Only
// the first attempt counts now, and a retry that lands.
func TestMemoCallersShareComputationDespiteRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c := Must(&Options{Backend: r})
		t.Cleanup(func() { c.Close() })
		r.fail.Store(true)
		_ = c.InvalidateTags(context.Background(), "users") // fails: retried in the background
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
