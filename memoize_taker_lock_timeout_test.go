package caching

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
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
		st := newStuckInWrite(t, "held-write-timeout", false, 10*time.Second)
		s, m, n, leader := st.s, st.m, st.n, st.leader
		r := <-st.second // once its wait for the write lock timed out
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
