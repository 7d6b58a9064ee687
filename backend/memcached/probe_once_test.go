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
	manyRepliesProbeOnce(t, func(h *serverHealth) {
		h.overReplies.Store(serverDownAfter)
		h.overSince = time.Now().Add(-2 * errorWindow).UnixNano()
	}, (*serverHealth).overItemReply)
}

// Regression: the same for error replies (errorReply): a call late to its
// turn probed again, 2 probes in one of the first few hundred rounds under
// -race.
func TestErrorRepliesOnManyGoroutinesProbeOnce(t *testing.T) {
	line := []byte("SERVER_ERROR upstream down\r\n")
	manyRepliesProbeOnce(t, func(h *serverHealth) {
		h.errReplies.Store(serverDownAfter)
		h.errSince = time.Now().Add(-2 * errorWindow).UnixNano()
	}, func(h *serverHealth) { h.errorReply(line) })
}

// manyRepliesProbeOnce checks, in 2000 rounds, that replies noted by note
// on 16 goroutines at once, of a server whose count start set (under mu)
// to one that must probe, make one probe, which answers (a normal reply
// or a miss): the server stays up.
func manyRepliesProbeOnce(t *testing.T, start, note func(h *serverHealth)) {
	for round := range 2000 {
		l, err := newServerList([]string{"127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		h := l.health[0]
		var probes atomic.Int32
		l.probe = func(h *serverHealth) error {
			probes.Add(1)
			h.answered()
			return nil
		}
		h.mu.Lock()
		start(h)
		h.mu.Unlock()
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 50 {
					note(h)
				}
			})
		}
		wg.Wait()
		if n := probes.Load(); n != 1 {
			t.Fatalf("round %d: %d probes, want 1", round, n)
		}
		if h.downUntil.Load() != 0 {
			t.Fatalf("round %d: server marked down after its probe answered", round)
		}
	}
}
