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

// TestMemoizeNestedCallTakesOverAnotherCallersStuckComputation: a memoized
// function whose fn asks another memoized function for a key with a
// context of no computation (context.Background(), a request's context
// captured by a fragment's template) while another caller's computation of
// that key is stuck is not a call for its own key: past the collapse bound
// it takes the stuck computation over, and its result is stored, as any
// other caller's is. Before, any call made on a computation's goroutine was
// taken for a self-call: it computed inline and stored nothing, so the key
// stayed a miss behind the stuck computation, and every later call of it
// waited the whole bound again.
func TestMemoizeNestedCallTakesOverAnotherCallersStuckComputation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{Backend: newSimple(t, nil)})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		gate := make(chan struct{})
		t.Cleanup(func() { close(gate) })
		var n atomic.Int32
		inner := Memoize(c, "nested-inner", func(context.Context, int) (string, error) {
			i := n.Add(1)
			if i == 1 {
				<-gate // stuck
			}
			return fmt.Sprintf("b%d", i), nil
		}, TTL(time.Hour), CollapseTimeout(2*time.Second))
		outer := Memoize(c, "nested-outer", func(_ context.Context, i int) (string, error) {
			return inner.Get(context.Background(), i) // not the outer call's ctx
		}, TTL(time.Hour))

		stuck := goGet(inner, 1)
		synctest.Wait()
		r := <-goGet(outer, 1) // past the bound, in place of the stuck call
		require.NoError(t, r.err)
		assert.Equal(t, "b2", r.v)

		later := goGet(inner, 1)
		synctest.Wait() // no time passes: a hit answers at once
		r, ok := ready(later)
		assert.True(t, ok, "the nested call's result is stored: a later call does not wait behind the stuck one")
		if !ok {
			r = <-later
		}
		assert.Equal(t, "b2", r.v)
		assert.EqualValues(t, 2, n.Load(), "fn ran once for the stuck call and once in its place")
		_, done := ready(stuck)
		assert.False(t, done)
	})
}
