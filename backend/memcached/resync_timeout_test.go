package memcached

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parkedStore returns a Store (Timeout timeout) whose fake server refuses
// each get of "broken" with a lone error line, after n of them came at
// once, each on its own connection, which the Store has parked when it
// returns; the server leaves the reply to the first version command it
// reads unanswered, and answers the others. It returns the dial count, the
// number of connections parked, and whether a version went unanswered.
func parkedStore(t *testing.T, n int, timeout time.Duration) (s *Store, dials func() int64, spares func() int, hung func() bool) {
	t.Helper()
	var (
		mu       sync.Mutex
		refused  int
		allIn    = make(chan struct{})
		unanswer atomic.Bool
	)
	addr := lateServer(t, func(f []string) (reply, late string) {
		switch {
		case len(f) == 2 && f[0] == "gets" && strings.HasSuffix(f[1], ":broken"):
			mu.Lock()
			if refused++; refused == n {
				close(allIn)
			}
			mu.Unlock()
			<-allIn
			return "SERVER_ERROR x\r\n", ""
		case len(f) == 2 && f[0] == "gets":
			return valueLine(f[1]), ""
		case len(f) == 1 && f[0] == "version":
			if unanswer.CompareAndSwap(false, true) {
				return "", "" // this resync's reply never comes
			}
			return "VERSION 1.6.0-fake\r\n", ""
		}
		return "ERROR\r\n", ""
	})
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	count := countDials(s)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := s.Get(context.Background(), "broken")
			assert.ErrorContains(t, err, "SERVER_ERROR x")
		})
	}
	wg.Wait()
	spares = func() int {
		s.conns.mu.Lock()
		defer s.conns.mu.Unlock()
		return len(s.conns.spares[addr])
	}
	require.Equal(t, n, spares(), "connections parked after the refused gets")
	return s, count.Load, spares, unanswer.Load
}

// Regression: the resyncs of one dial's parked connections shared one
// deadline, so that one resync that timed out left the others an expired
// deadline: each failed at once, unanswered, and was closed, every
// connection parked for the server lost to one that did not answer, and
// dialed anew after. A resync that times out now closes its connection
// only; the others stay parked for the next dial.
func TestResyncTimeoutClosesOnlyItsConnection(t *testing.T) {
	const parked = 3
	s, dials, spares, hung := parkedStore(t, parked, time.Second)
	ctx := context.Background()
	_, _ = s.Get(ctx, "k") // its resync times out: the get fails
	require.True(t, hung(), "no resync was left unanswered")
	assert.Equal(t, parked-1, spares(), "connections still parked after one resync timed out")
	opened := dials()
	for i := range parked {
		v, err := s.Get(ctx, "k")
		if assert.NoError(t, err, "get %d", i) {
			assert.Equal(t, s.mustKey(t, "k"), string(v), "get %d", i)
		}
	}
	assert.Equal(t, opened, dials(), "dials after the timeout, with connections parked")
}

// A dial whose context's deadline has passed resyncs no parked connection:
// each resync would fail unanswered, and close a sound connection.
func TestSpareUnderAnExpiredDeadlineKeepsTheParked(t *testing.T) {
	const parked = 2
	s, _, spares, hung := parkedStore(t, parked, 10*time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	assert.Nil(t, s.conns.spare(ctx, s.servers.addrs[0].String()), "a spare taken past its deadline")
	assert.False(t, hung(), "a version sent past its deadline")
	assert.Equal(t, parked, spares(), "connections still parked")
}
