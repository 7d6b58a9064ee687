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

// memoGated memoizes through c under name a function whose i-th call
// (from 1) waits for gates[i-1], where there is one, and returns "v<i>",
// counting its calls in n.
func memoGated(c *Cache, name string, gates []chan struct{}, opts ...MemoOption) (m *Memoized[int, string], n *atomic.Int32) {
	n = new(atomic.Int32)
	m = Memoize(c, name, func(context.Context, int) (string, error) {
		i := n.Add(1)
		if int(i) <= len(gates) {
			<-gates[i-1]
		}
		return fmt.Sprintf("v%d", i), nil
	}, opts...)
	return m, n
}

// TestMemoizeTakerUnderLeaseStuckHolderEndsFirst: in one process, under a
// Lease longer than the function's CollapseTimeout, a joiner takes a
// stuck computation over past the CollapseTimeout and waits for the lease
// the stuck one holds (TestMemoizeCollapseTimeoutShorterThanLease). The
// stuck one ends first, within its lease (the taker then leads and
// computes) or past it while the taker computes under the next lease:
// either way each caller gets its own run's result, and the taker's, the
// newer one, is what is stored, never the stuck one's.
func TestMemoizeTakerUnderLeaseStuckHolderEndsFirst(t *testing.T) {
	const lease = 10 * time.Second
	for _, tc := range []struct {
		name string
		// stuckFor is how long the stuck run lasts from the takeover,
		// pastLease whether the taker then computes already.
		stuckFor  time.Duration
		pastLease bool
	}{
		{"within its lease", 3 * time.Second, false},
		{"past its lease", lease, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := New(&Options{Backend: &remote{Backend: newSimple(t, nil)}, Timeout: 10 * time.Second})
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
				m, n := memoGated(c, "taker-lease", gates, TTL(time.Hour), Lease(lease), CollapseTimeout(2*time.Second))
				stuck := goGet(m, 1)
				synctest.Wait()
				taker := goGet(m, 1)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				require.EqualValues(t, 1, c.Stats().CollapseTakeovers, "the joiner takes over")
				require.EqualValues(t, 1, n.Load(), "and waits for the stuck run's lease")

				time.Sleep(tc.stuckFor)
				synctest.Wait()
				if tc.pastLease {
					require.EqualValues(t, 2, n.Load(), "past the lease, the taker computes")
				}
				close(gates[0]) // the stuck run ends first
				r := <-stuck
				assert.NoError(t, r.err)
				assert.Equal(t, "v1", r.v, "the stuck run's caller gets its own result")
				close(gates[1])
				r = <-taker
				assert.NoError(t, r.err)
				assert.Equal(t, "v2", r.v, "the taker's caller gets its result")

				v, err := getWithin(m, 1)
				assert.NoError(t, err)
				assert.Equal(t, "v2", v, "the taker's newer result is stored, not the stuck one's")
				assert.EqualValues(t, 2, n.Load())
			})
		})
	}
}

// slowLook is remote whose first read of a key holding match, once armed,
// hangs until its context ends: a backend read that is slow at that moment.
type slowLook struct {
	*remote
	match string
	armed atomic.Bool
	hung  atomic.Int32 // the reads that hung
}

func (s *slowLook) hang(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.Contains(k, s.match) && s.armed.CompareAndSwap(true, false) {
			s.hung.Add(1)
			<-ctx.Done()
			return ctx.Err()
		}
	}
	return nil
}

func (s *slowLook) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.hang(ctx, key); err != nil {
		return nil, err
	}
	return s.remote.Get(ctx, key)
}

func (s *slowLook) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := s.hang(ctx, keys...); err != nil {
		return nil, err
	}
	return s.remote.GetMany(ctx, keys)
}

// TestMemoizeLeaseLookBeforeWriteTimesOut: a computation under a lease
// looks for an entry stored since its last look before it writes
// (storedSinceLease). Where that read hangs (a slow backend at that
// moment), it is bounded by Options.Timeout, and a look that fails tells
// nothing: the result still answers the caller and those that joined it,
// and is stored as it would be without the look (the next call hits).
func TestMemoizeLeaseLookBeforeWriteTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowLook{remote: &remote{Backend: newSimple(t, nil)}}
		c, err := New(&Options{Backend: s, Timeout: 2 * time.Second, Lease: 10 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		gate := make(chan struct{})
		m, n := memoGated(c, "slow-look", []chan struct{}{gate}, TTL(time.Hour))
		key, err := m.Key(1)
		require.NoError(t, err)
		s.match = key
		leader := goGet(m, 1)
		synctest.Wait()
		joiner := goGet(m, 1)
		synctest.Wait()
		s.armed.Store(true) // the look after fn returns hangs
		close(gate)
		for _, ch := range []<-chan getResult{leader, joiner} {
			r := <-ch
			assert.NoError(t, r.err)
			assert.Equal(t, "v1", r.v, "the result answers its callers")
		}
		assert.EqualValues(t, 1, s.hung.Load(), "the look before the write hung")
		v, err := getWithin(m, 1)
		assert.NoError(t, err)
		assert.Equal(t, "v1", v, "and is stored")
		assert.EqualValues(t, 1, n.Load())
	})
}
