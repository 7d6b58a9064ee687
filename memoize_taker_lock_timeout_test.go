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

// TestMemoizeTakerLockTimeoutDropsStuckWrite: a computation stuck inside
// its backend write, one that ignores its deadline, is taken over past the
// function's CollapseTimeout; the taker waits for that write's lock for
// Options.Timeout, in vain, and stores nothing. The stuck write, made of
// data read before the taker's, lands later: it must not be what is served
// afterwards. Before, it stayed for its TTL (an hour here); now the taker
// has it removed once it lands, and the next call computes anew.
func TestMemoizeTakerLockTimeoutDropsStuckWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &heldWrite{remote: &remote{Backend: newSimple(t, nil)}, gate: make(chan struct{})}
		c, err := New(&Options{Backend: s, Timeout: 10 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		var n atomic.Int32
		m := Memoize(c, "held-write-timeout", func(context.Context, int) (string, error) {
			return fmt.Sprintf("v%d", n.Add(1)), nil
		}, TTL(time.Hour), CollapseTimeout(2*time.Second))
		key, err := m.Key(1)
		require.NoError(t, err)
		s.match = key
		s.armed.Store(true)

		leader := goGet(m, 1)
		synctest.Wait()
		require.True(t, s.held.Load(), "the leader's write is held")
		joiner := goGet(m, 1)
		time.Sleep(2 * time.Second) // past the CollapseTimeout: the joiner takes over
		r := <-joiner               // once its wait for the write lock timed out
		assert.NoError(t, r.err)
		assert.Equal(t, "v2", r.v, "the taker's caller gets its result")
		assert.EqualValues(t, 2, n.Load())

		close(s.gate) // the stuck write lands, last
		r = <-leader
		assert.NoError(t, r.err)
		assert.Equal(t, "v1", r.v, "the stuck call's caller gets its own result")
		synctest.Wait()
		v, err := getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, "v3", v, "the stuck older result is not served: the next call computes")
		assert.EqualValues(t, 3, n.Load())
	})
}
