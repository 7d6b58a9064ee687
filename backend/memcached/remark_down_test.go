package memcached

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// Regression: each error reply of a server marked down already (the
// replies of the calls in flight when a dead proxy was marked down) marked
// it down again by making its refusal anew: fifteen messages formatted
// while holding the server's lock, which every other reply of the server
// waits for. It now only keeps the server down for serverRetry from the
// reply, with the refusal it has.
func TestErrorReplyOfServerDownKeepsItsRefusal(t *testing.T) {
	l, err := newServerList([]string{"127.0.0.1:1"})
	require.NoError(t, err)
	h := l.health[0]
	l.probe = func(*serverHealth) error { return errors.New("SERVER_ERROR upstream down") }
	line := []byte("SERVER_ERROR upstream down\r\n")
	h.mu.Lock()
	h.errReplies.n.Store(serverDownAfter)
	h.errReplies.since = time.Now().Add(-2 * errorWindow).UnixNano()
	h.mu.Unlock()
	h.errorReply(line)
	refused := h.refusal.Load()
	require.NotNil(t, refused, "marked down by its probe")

	h.downUntil.Store(1) // a cool-down long over, and no call probed the server since
	before := time.Now()
	h.errorReply(line)
	assert.GreaterOrEqual(t, h.downUntil.Load(), before.Add(serverRetry).UnixNano(), "kept down for serverRetry from the reply")
	assert.Same(t, refused, h.refusal.Load(), "its refusal made anew")
	assert.EqualValues(t, 1, l.down.Load(), "servers counted down")
	if !raceOn {
		assert.Zero(t, testutil.AllocsPerRun(100, func() { h.errorReply(line) }), "allocations of an error reply of a server down")
	}
}
