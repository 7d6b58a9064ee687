package caching

import (
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeStuckWriteDropsOneWaiterPerKey: while a backend write of a key
// hangs (ignoring its deadline), every later computation of the key waits
// for its write lock in vain (Options.Timeout) and stores nothing; each
// asked for the stuck write's entry to be removed once it lands. Before,
// each started a goroutine of its own that waited for the lock until
// Close: a key asked for over and over during a long hang made goroutines
// (and the epochs they kept) without bound. One waiter per key does the
// same work: the entry is still removed once the write lands.
func TestMemoizeStuckWriteDropsOneWaiterPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStuckInWrite(t, "held-write-bound", false, time.Second)
		s, m, n, leader := st.s, st.m, st.n, st.leader
		r := <-st.second
		require.NoError(t, r.err)
		synctest.Wait()
		before := runtime.NumGoroutine()
		const calls = 40
		for range calls { // the key stays a miss: each call computes, and its store times out
			_, err := getWithin(m, 1)
			require.NoError(t, err)
		}
		synctest.Wait()
		assert.Less(t, runtime.NumGoroutine()-before, calls/4,
			"the calls during the hang leave no goroutine each behind")

		close(s.gate) // the stuck write lands
		r = <-leader
		assert.NoError(t, r.err)
		assert.Equal(t, "v1", r.v)
		synctest.Wait()
		got := n.Load()
		v, err := getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("v%d", got+1), v, "the stuck older result is removed: the next call computes")
		v, err = getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("v%d", got+1), v, "and its result is stored")
	})
}
