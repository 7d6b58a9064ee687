package caching

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heldWrite is remote whose first Set of a key holding match, once armed,
// blocks until gate is closed (or, with honourCtx, its context ends, the
// write then failing unmade): a computation stuck inside its backend write.
type heldWrite struct {
	*remote
	match     string
	honourCtx bool
	gate      chan struct{}
	armed     atomic.Bool
	held      atomic.Bool // the write is blocked
}

func (h *heldWrite) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if strings.Contains(key, h.match) && h.armed.CompareAndSwap(true, false) {
		h.held.Store(true)
		if h.honourCtx {
			select {
			case <-h.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		} else {
			<-h.gate
		}
	}
	return h.remote.Set(ctx, key, v, ttl)
}

// TestMemoizeTakeoverOfComputationInItsWrite: a computation stuck inside
// its backend write (its function returned, its Set hung) past the
// function's CollapseTimeout is taken over by a joiner, as one stuck in its
// function is; the stuck write, which held the key's write lock from its
// check of its epoch (before the takeover), lands first, and the taker's,
// made holding that lock after it, lands over it: the older result never
// replaces the newer one. Where the stuck write ends with its context
// (Options.Timeout), unmade, the taker's still lands.
func TestMemoizeTakeoverOfComputationInItsWrite(t *testing.T) {
	for _, tc := range []struct {
		name      string
		honourCtx bool
		release   time.Duration // when the held write is let go, from the takeover
	}{
		{"held write lands first", false, time.Second},
		{"held write ends with its context", true, 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &heldWrite{remote: &remote{Backend: newSimple(t, nil)}, honourCtx: tc.honourCtx, gate: make(chan struct{})}
				c, err := New(&Options{Backend: s, Timeout: 10 * time.Second})
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				var n atomic.Int32
				m := Memoize(c, "held-write", func(context.Context, int) (string, error) {
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
				synctest.Wait()
				require.EqualValues(t, 2, n.Load(), "the joiner computes in the stuck one's place")
				require.EqualValues(t, 1, c.Stats().CollapseTakeovers)

				time.Sleep(tc.release)
				close(s.gate)
				r := <-joiner
				assert.NoError(t, r.err)
				assert.Equal(t, "v2", r.v, "the taker's result")
				r = <-leader
				assert.NoError(t, r.err)
				assert.Equal(t, "v1", r.v, "the stuck call's caller gets its own result")
				synctest.Wait()
				v, err := getWithin(m, 1)
				assert.NoError(t, err)
				assert.Equal(t, "v2", v, "the stuck write did not land over the taker's")
				assert.EqualValues(t, 2, n.Load())
			})
		})
	}
}
