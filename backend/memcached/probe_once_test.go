package memcached

import (
	"errors"
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
		h.overReplies.n.Store(serverDownAfter)
		h.overReplies.since = time.Now().Add(-2 * errorWindow).UnixNano()
	}, (*serverHealth).overItemReply)
}

// Regression: the same for error replies (errorReply): a call late to its
// turn probed again, 2 probes in one of the first few hundred rounds under
// -race.
func TestErrorRepliesOnManyGoroutinesProbeOnce(t *testing.T) {
	line := []byte("SERVER_ERROR upstream down\r\n")
	manyRepliesProbeOnce(t, func(h *serverHealth) {
		h.errReplies.n.Store(serverDownAfter)
		h.errReplies.since = time.Now().Add(-2 * errorWindow).UnixNano()
	}, func(h *serverHealth) { h.errorReply(line) })
}

// Regression: replies of values over MaxItemSize on many goroutines make
// one probe when that probe finds the server broken too (its key never
// written answered with such a value), and marks it down. Such a probe
// leaves the count as it was: a call late to its turn found it long
// enough still, and probed the server marked down again (up to 15 probes
// a round).
func TestOverItemRepliesOnManyGoroutinesProbeOnceDown(t *testing.T) {
	manyRepliesProbeOnceDown(t, errProbeOverItem, func(h *serverHealth) {
		h.overReplies.n.Store(serverDownAfter)
		h.overReplies.since = time.Now().Add(-2 * errorWindow).UnixNano()
	}, (*serverHealth).overItemReply)
}

// The same for error replies, whose probe is answered with error replies
// too: one probe, the server marked down.
func TestErrorRepliesOnManyGoroutinesProbeOnceDown(t *testing.T) {
	line := []byte("SERVER_ERROR upstream down\r\n")
	manyRepliesProbeOnceDown(t, errors.New("SERVER_ERROR upstream down"), func(h *serverHealth) {
		h.errReplies.n.Store(serverDownAfter)
		h.errReplies.since = time.Now().Add(-2 * errorWindow).UnixNano()
	}, func(h *serverHealth) { h.errorReply(line) })
}

// manyRepliesProbeOnce checks, in 2000 rounds, that replies noted by note
// on 16 goroutines at once, of a server whose count start set (under mu)
// to one that must probe, make one probe, which answers (a normal reply
// or a miss): the server stays up.
func manyRepliesProbeOnce(t *testing.T, start, note func(h *serverHealth)) {
	manyRepliesProbeOnceDown(t, nil, start, note)
}

// manyRepliesProbeOnceDown is manyRepliesProbeOnce for a probe that fails
// with probeErr, confirming the replies: the server is marked down (up
// for a nil probeErr, the probe answering).
func manyRepliesProbeOnceDown(t *testing.T, probeErr error, start, note func(h *serverHealth)) {
	for round := range 2000 {
		l, err := newServerList([]string{"127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		h := l.health[0]
		var probes atomic.Int32
		l.probe = func(h *serverHealth) error {
			probes.Add(1)
			if probeErr != nil {
				return probeErr
			}
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
		switch down := h.downUntil.Load() != 0; {
		case probeErr == nil && down:
			t.Fatalf("round %d: server marked down after its probe answered", round)
		case probeErr != nil && !down:
			t.Fatalf("round %d: server up after its probe failed: %v", round, probeErr)
		}
	}
}
