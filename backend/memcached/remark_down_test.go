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
	line := []byte("SERVER_ERROR upstream down\r\n")
	l, h := markedDownByErrors(t, line)
	refused := h.refusal.Load()

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

// Regression: a reply of a server marked down kept it down for serverRetry
// from its now, read before it waited for the server's lock, and stored
// that deadline over the one a reply read later but locked sooner had
// stored: the cool-down moved back by the first reply's wait, and a call
// probed the server early. The cool-down now only moves forward.
func TestServerDownDeadlineOnlyMovesForward(t *testing.T) {
	line := []byte("SERVER_ERROR upstream down\r\n")
	l, h := markedDownByErrors(t, line)
	h.downUntil.Store(1) // a cool-down long over, and no call probed the server since
	newer := time.Now().UnixNano()
	older := newer - int64(100*time.Millisecond)

	h.mu.Lock()
	defer h.mu.Unlock()
	h.dueLocked(&h.errReplies, &errorRule, serverDownAfter, newer, line)
	require.Equal(t, newer+int64(serverRetry), h.downUntil.Load(), "kept down for serverRetry from the newer reply")
	h.dueLocked(&h.errReplies, &errorRule, serverDownAfter, older, line)
	assert.Equal(t, newer+int64(serverRetry), h.downUntil.Load(), "the cool-down moved by a reply read earlier, locked later")

	// Marking the server down again keeps a later deadline it has (a
	// probe's lease, taken without the lock).
	later := time.Now().Add(time.Hour).UnixNano()
	h.downUntil.Store(later)
	h.markDownLocked("a test")
	assert.Equal(t, later, h.downUntil.Load(), "marked down again: the cool-down moved back")
	assert.EqualValues(t, 1, l.down.Load(), "servers counted down")
}

// markedDownByErrors returns a list of one server, and its health, marked
// down by error replies (line the last) that its probe bore out; the
// streak goes on (a later error reply finds it long enough).
func markedDownByErrors(t *testing.T, line []byte) (*serverList, *serverHealth) {
	t.Helper()
	l, err := newServerList([]string{"127.0.0.1:1"})
	require.NoError(t, err)
	h := l.health[0]
	l.probe = func(*serverHealth) error { return errors.New("SERVER_ERROR upstream down") }
	h.mu.Lock()
	h.errReplies.n.Store(serverDownAfter)
	h.errReplies.since = time.Now().Add(-2 * errorWindow).UnixNano()
	h.mu.Unlock()
	h.errorReply(line)
	require.NotNil(t, h.refusal.Load(), "marked down by its probe")
	require.NotZero(t, h.downUntil.Load(), "marked down by its probe")
	return l, h
}
