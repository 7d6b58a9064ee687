package caching

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countedReads is a remote whose reads (Get, GetMany) are counted, and
// fail once readsDown is set, while its writes go on.
type countedReads struct {
	*remote
	reads     atomic.Int64
	readsDown atomic.Bool
}

func (c *countedReads) read() error {
	c.reads.Add(1)
	if c.readsDown.Load() {
		return errDown
	}
	return nil
}

func (c *countedReads) Get(ctx context.Context, key string) ([]byte, error) {
	if err := c.read(); err != nil {
		return nil, err
	}
	return c.remote.Get(ctx, key)
}

func (c *countedReads) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := c.read(); err != nil {
		return nil, err
	}
	return c.remote.GetMany(ctx, keys)
}

// leasedRunReads serves one GET of /p through a view under a lease of d on
// s, its handler gated: once the handler runs, during is called, then
// wait more (fake) time passes, and the handler ends. It returns the
// body served and the reads the backend got from the moment the handler
// began.
func leasedRunReads(t *testing.T, s *countedReads, d, wait time.Duration, during func()) (body string, reads int64) {
	t.Helper()
	c, err := New(&Options{Backend: s, Lease: d})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	g := newGate(200)
	h := c.Cached(time.Hour)(g)
	var wg sync.WaitGroup
	var got string
	wg.Go(func() { got = get(h, "/p").Body.String() })
	until(t, "the holder runs its handler", func() bool { return g.calls.Load() == 1 })
	during()
	before := s.reads.Load()
	time.Sleep(wait)
	close(g.open)
	wg.Wait()
	return got, s.reads.Load() - before
}

// TestViewLeaseOverrunLookOnDeadBackendCostsOneRead: a view's lease holder
// past its lease whose backend died while its handler ran makes one read
// before its write (its look, which fails: it writes as before), not a
// second one for the key's lease, which the failed look made pointless:
// on a backend that hangs, each read is one more Options.Timeout on the
// client's request (the breaker closed).
func TestViewLeaseOverrunLookOnDeadBackendCostsOneRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &countedReads{remote: &remote{Backend: newSimple(t, nil)}}
		body, reads := leasedRunReads(t, s, time.Second, 2*time.Second, func() { s.readsDown.Store(true) })
		assert.Equal(t, "page #1", body)
		assert.EqualValues(t, 1, reads, "reads past the lease with the backend down")
	})
}
