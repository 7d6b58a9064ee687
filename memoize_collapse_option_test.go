package caching

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeCollapseTimeoutOption: CollapseTimeout sets how long a
// memoized call waits for a computation of its argument it joined, from
// that computation's start, in place of DefaultCollapseTimeout plus the
// Lease: a joiner waits d and then computes in its place; a negative d
// waits as long as the computation runs (a function slower than the
// default bound runs once for its concurrent callers).
func TestMemoizeCollapseTimeoutOption(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []MemoOption
		wait time.Duration // how long the joiner waits; 0: for ever
	}{
		{"default", nil, DefaultCollapseTimeout},
		{"shorter", []MemoOption{CollapseTimeout(time.Second)}, time.Second},
		{"longer", []MemoOption{CollapseTimeout(30 * time.Second)}, 30 * time.Second},
		{"negative", []MemoOption{CollapseTimeout(-1)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				m, n, stuck := memoStuckFirst(c, "collapse-option", append([]MemoOption{TTL(time.Hour)}, tc.opts...)...)
				leader := goGet(m, 1)
				synctest.Wait()
				require.EqualValues(t, 1, n.Load())
				joiner, start := goGet(m, 1), time.Now()
				if tc.wait > 0 {
					time.Sleep(tc.wait - time.Millisecond)
				} else {
					time.Sleep(50 * time.Second) // under getWithin's minute
				}
				synctest.Wait()
				early, done := ready(joiner)
				assert.False(t, done, "within the bound, the joiner waits")
				if done { // a result already: read it, not wait for another
					ch := make(chan getResult, 1)
					ch <- early
					joiner = ch
				}
				assert.EqualValues(t, 1, n.Load(), "and computes nothing")
				if tc.wait > 0 {
					time.Sleep(time.Millisecond)
					r := <-joiner
					assert.NoError(t, r.err)
					assert.Equal(t, "v", r.v)
					assert.Equal(t, tc.wait, time.Since(start), "the joiner waits the bound, no longer")
					assert.EqualValues(t, 2, n.Load(), "past the bound, the joiner computes in its place")
					assert.EqualValues(t, 1, c.Stats().CollapseTimeouts)
					close(stuck)
				} else {
					close(stuck)
					r := <-joiner
					assert.NoError(t, r.err)
					assert.Equal(t, "v", r.v, "the joiner gets the computation's result")
					assert.EqualValues(t, 1, n.Load(), "computed once for both callers")
					assert.Zero(t, c.Stats().CollapseTimeouts)
				}
				r := <-leader
				assert.NoError(t, r.err)
				assert.Equal(t, "v", r.v)
			})
		})
	}
}
