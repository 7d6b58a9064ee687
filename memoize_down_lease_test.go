package caching

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opCounter is an Observer that counts the backend calls by operation.
type opCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (o *opCounter) ObserveBackend(op string, _ time.Duration, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ops == nil {
		o.ops = map[string]int{}
	}
	o.ops[op]++
}

func (o *opCounter) count(op string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ops[op]
}

// TestMemoizeLeaseSkippedWhenTheLookupFailed: with Lease, a call whose
// lookup had just failed (the backend slow or down) still went on to take
// the lease, one more call into the same backend, with its own timeout,
// before running the function; a view skips the lease then. Until the
// breaker opened, every call paid for it.
func TestMemoizeLeaseSkippedWhenTheLookupFailed(t *testing.T) {
	obs := &opCounter{}
	s := &slowRemote{remote: remote{Backend: newSimple(t, nil)}, delay: time.Hour}
	c := Must(&Options{Backend: s, Timeout: 20 * time.Millisecond, Breaker: BreakerOptions{Threshold: -1}, Observer: obs})
	defer c.Close()
	m := Memoize(c, "price", func(_ context.Context, id int) (int, error) { return id * 10, nil }, Lease(time.Minute))
	for id := range 3 {
		v, err := m.Get(context.Background(), id)
		require.NoError(t, err, "a slow backend never fails the call")
		assert.Equal(t, id*10, v)
	}
	assert.Positive(t, obs.count(OpGetMany)+obs.count(OpGet), "the lookups reached the backend")
	assert.Zero(t, obs.count(OpAdd), "no lease is taken on a backend whose lookup just failed")
}

// TestFailedLookupAsksNothingMore: when Memoize's or Fragment's read had
// just failed (a hung backend, before the breaker opens), the call went on
// to read the tag versions and to store, each waiting out Options.Timeout
// again: a call cost two timeouts or more, and the extra failures opened
// the breaker sooner for everyone. As a view's run does, the function
// (or render) now runs, and nothing more is asked of that backend.
func TestFailedLookupAsksNothingMore(t *testing.T) {
	for _, api := range []string{"Memoize", "Fragment"} {
		t.Run(api, func(t *testing.T) {
			obs := &opCounter{}
			s := &slowRemote{remote: remote{Backend: newSimple(t, nil)}, delay: time.Hour}
			c := Must(&Options{Backend: s, Timeout: 20 * time.Millisecond, Breaker: BreakerOptions{Threshold: -1}, Observer: obs})
			defer c.Close()
			ctx := context.Background()
			m := Memoize(c, "price", func(_ context.Context, id int) (int, error) { return id * 10, nil }, Tags("prices"))
			for id := range 3 {
				if api == "Memoize" {
					v, err := m.Get(ctx, id)
					require.NoError(t, err)
					assert.Equal(t, id*10, v)
					continue
				}
				html, err := c.Fragment(ctx, fmt.Sprint("sidebar-", id), time.Minute, func(w io.Writer) error {
					_, err := fmt.Fprint(w, "<ul></ul>")
					return err
				}, Tags("categories"))
				require.NoError(t, err)
				assert.Equal(t, "<ul></ul>", string(html))
			}
			assert.EqualValues(t, 3, s.calls.Load(), "one backend call (the failed read) per call")
		})
	}
}
