package memcached

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Regression: replies of values over MaxItemSize, come on many goroutines
// at once once a second of them has passed, make one probe: its miss
// marks the server up, and starts the second anew. A call that counted its
// reply before that probe's miss, and took its turn after the probe
// ended, probed again (2 or 3 probes in some of 2000 rounds under -race):
// the count is read again once the turn is taken.
func TestOverItemRepliesOnManyGoroutinesProbeOnce(t *testing.T) {
	for round := range 2000 {
		l, err := newServerList([]string{"127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		h := l.health[0]
		var probes atomic.Int32
		l.probe = func(h *serverHealth) error {
			probes.Add(1)
			h.answered() // a miss
			return nil
		}
		h.mu.Lock()
		h.overReplies.Store(serverDownAfter)
		h.overSince = time.Now().Add(-2 * errorWindow).UnixNano()
		h.mu.Unlock()
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 50 {
					h.overItemReply()
				}
			})
		}
		wg.Wait()
		if n := probes.Load(); n != 1 {
			t.Fatalf("round %d: %d probes, want 1", round, n)
		}
	}
}
