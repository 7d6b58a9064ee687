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

// TestMemoizeSelfCallWithOtherContext: a function that asks for its own key
// with another context than its own (context.Background()), a recursion
// whose levels the key does not tell apart, is not seen through its
// context (reentry.go). Each level joined the one above it, waited the
// collapse bound and took it over: the innermost level's part was stored
// as the key's result, served for its TTL, and under a negative
// CollapseTimeout the key hung for ever. Now a call made from within a
// computation (on its goroutine) computes inline once the bound is past,
// storing nothing, as one made with the computation's context does: the
// outer computation stores the whole result, and with no bound the call
// waits DefaultCollapseTimeout plus the Lease; under a Lease, the inline
// level does not wait for the lease its outer level holds.
func TestMemoizeSelfCallWithOtherContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []MemoOption
	}{
		{"bound", []MemoOption{CollapseTimeout(2 * time.Second)}},
		{"no bound", []MemoOption{CollapseTimeout(-1)}},
		{"lease", []MemoOption{Lease(time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var depth atomic.Int32
				var m *Memoized[int, string]
				m = Memoize(c, "self-call", func(_ context.Context, a int) (string, error) {
					d := depth.Add(1)
					if d < 4 {
						v, err := getWithin(m, a) // not fn's ctx
						return fmt.Sprintf("level%d(%s)", d, v), err
					}
					return "leaf", nil
				}, append(tc.opts, TTL(time.Hour))...)
				const want = "level1(level2(level3(leaf)))"
				v, err := getWithin(m, 1)
				require.NoError(t, err)
				assert.Equal(t, want, v)
				v, err = getWithin(m, 1)
				assert.NoError(t, err)
				assert.Equal(t, want, v, "the outer computation's result is stored, not a level's part")
				assert.EqualValues(t, 4, depth.Load())
				assert.Zero(t, c.Stats().CollapseTakeovers, "no level takes the outer one over")
			})
		})
	}
}

// TestMemoizeNestedCallWithOtherContextJoins: a memoized function that
// calls another with another context than its own joins that one's
// computation of the key in flight, another caller's, as any caller does:
// the nested function runs once.
func TestMemoizeNestedCallWithOtherContextJoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		gate := make(chan struct{})
		inner, n := memoGated(c, "inner", []chan struct{}{gate}, TTL(time.Hour))
		outer := Memoize(c, "outer", func(_ context.Context, a int) (string, error) {
			v, err := getWithin(inner, a)
			return "outer(" + v + ")", err
		}, TTL(time.Hour))
		first := goGet(inner, 1)
		synctest.Wait()
		nested := goGet(outer, 1)
		synctest.Wait()
		close(gate)
		r := <-first
		assert.NoError(t, r.err)
		assert.Equal(t, "v1", r.v)
		r = <-nested
		assert.NoError(t, r.err)
		assert.Equal(t, "outer(v1)", r.v, "the nested call joined")
		assert.EqualValues(t, 1, n.Load())
	})
}
