package caching

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestStuckLeaseHolderWaitersOnRedis: as TestStuckLeaseHolderAcrossProcessesOnRedis,
// with a waiter of A's stuck leader (no CollapseTimeout in A). Once B's
// leader stored its response past A's lease, A's run, ending last, stores
// nothing (view.leaseOverrun); its waiter must not then run the stuck
// handler again on its own, as for a response it may not reuse: it is
// served B's entry, as a waiter that joins again finds it.
func TestStuckLeaseHolderWaitersOnRedis(t *testing.T) {
	const a, b = 0, 1
	p := newTakeoverProcs(t, 1, [2][]ViewOption{
		{Lease(time.Second)},
		{Lease(time.Second)},
	})
	var stuck, rest sync.WaitGroup
	lw := p.start(&stuck, a)
	until(t, "A's leader runs its handler", func() bool { return p.runs.Load() == 1 })
	aw := p.start(&stuck, a)
	until(t, "A's waiter waits for A's leader", func() bool { return p.joins.Load() == 1 })

	bl := p.start(&rest, b)
	rest.Wait() // B's leader runs once the lease's time is out, and stores
	assert.Equal(t, "run 2", bl.Body.String(), "B's leader ran past the lease")

	close(p.gates[0]) // A's stuck run ends, last
	stuck.Wait()
	assert.Equal(t, "run 1", lw.Body.String(), "its client gets its own response")
	assert.Equal(t, "run 2", aw.Body.String(), "A's waiter is served B's stored entry")
	assert.Equal(t, "HIT", aw.Header().Get("X-Cache"))
	assert.EqualValues(t, 2, p.runs.Load(), "the stuck handler is not run again for A's waiter")
	for i := range p.h {
		w := get(p.h[i], "/a")
		assert.Equal(t, "run 2", w.Body.String(), "process %d", i)
	}
}
