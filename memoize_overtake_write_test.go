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

// stuckInWrite is a Memoize on a heldWrite whose leader's write of argument
// 1 is held (the computation stuck in its write), and a second call made
// past the function's CollapseTimeout (2 s), which took it over; run
// inside synctest.Test. n counts the function's runs.
type stuckInWrite struct {
	s              *heldWrite
	c              *Cache
	m              *Memoized[int, string]
	n              *atomic.Int32
	leader, second <-chan getResult
}

func newStuckInWrite(t *testing.T, name string, honourCtx bool, timeout time.Duration) *stuckInWrite {
	t.Helper()
	st := &stuckInWrite{n: new(atomic.Int32)}
	st.s = &heldWrite{remote: &remote{Backend: newSimple(t, nil)}, honourCtx: honourCtx, gate: make(chan struct{})}
	c, err := New(&Options{Backend: st.s, Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	st.c = c
	st.m = Memoize(c, name, func(context.Context, int) (string, error) {
		return fmt.Sprintf("v%d", st.n.Add(1)), nil
	}, TTL(time.Hour), CollapseTimeout(2*time.Second))
	key, err := st.m.Key(1)
	require.NoError(t, err)
	st.s.match = key
	st.s.armed.Store(true)

	st.leader = goGet(st.m, 1)
	synctest.Wait()
	require.True(t, st.s.held.Load(), "the leader's write is held")
	st.second = goGet(st.m, 1)
	time.Sleep(2 * time.Second) // past the CollapseTimeout: the second call takes over
	return st
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
				st := newStuckInWrite(t, "held-write", tc.honourCtx, 10*time.Second)
				s, c, m, n, leader, joiner := st.s, st.c, st.m, st.n, st.leader, st.second
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
