package caching

import (
	"context"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeJoinersOfPanickedComputationCopyNothing: "a caller that joins
// another's copies nothing". When the computation panicked, m.do panicked
// before Get (or Refresh) learnt it had joined, and giveBack made the
// argument as for a leader that left: every joiner deep-copied its
// argument and called ArgTags on it, during the panic, for a computation
// that never runs (and an ArgTags panic there was logged and counted for
// callers that never computed). A leader's work takes its argument first
// (argOf), so a panicking caller has no loan to honour: it copies nothing.
func TestMemoizeJoinersOfPanickedComputationCopyNothing(t *testing.T) {
	for _, op := range []string{"Get", "Refresh"} {
		t.Run(op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := New(&Options{})
				require.NoError(t, err)
				defer c.Close()
				var tagCalls atomic.Int32
				release := make(chan struct{})
				m := Memoize(c, "panic-joiner-copy", func(ctx context.Context, a refreshCopyArg) (int, error) {
					<-release
					panic("boom")
				}, TTL(time.Minute), ArgTags(func(a refreshCopyArg) []string {
					tagCalls.Add(1)
					return []string{"n:" + a.N.String()}
				}))
				// A Refresh joins no computation begun before it: it
				// leads, and Gets join it.
				lead := m.Get
				if op == "Refresh" {
					lead = m.Refresh
				}
				arg := refreshCopyArg{IDs: []string{"a"}, N: big.NewInt(7)}
				var wg sync.WaitGroup
				var panics atomic.Int32
				for i := range 5 {
					call := m.Get
					if i == 0 {
						call = lead
					}
					wg.Go(func() {
						defer func() {
							if recover() != nil {
								panics.Add(1)
							}
						}()
						_, _ = call(context.Background(), arg)
					})
					if i == 0 {
						synctest.Wait() // it leads
					}
				}
				synctest.Wait() // one leader (its argument made: 1 ArgTags call), 4 joiners
				require.EqualValues(t, 1, tagCalls.Load())
				close(release)
				wg.Wait()
				assert.EqualValues(t, 5, panics.Load())
				assert.EqualValues(t, 1, tagCalls.Load(), "ArgTags calls (one per copy of the argument): the joiners of a panicked computation copied")
			})
		})
	}
}
