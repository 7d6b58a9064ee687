package memcached

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a reply of a server marked down kept it down for serverRetry
// from its now, read before it waited for the server's lock, and stored
// that deadline over the one a reply read later but locked sooner had
// stored: the cool-down moved back by the first reply's wait, and a call
// probed the server early. The cool-down now only moves forward.
func TestServerDownDeadlineOnlyMovesForward(t *testing.T) {
	l, err := newServerList([]string{"127.0.0.1:1"})
	require.NoError(t, err)
	h := l.health[0]
	l.probe = func(*serverHealth) error { return errors.New("SERVER_ERROR upstream down") }
	line := []byte("SERVER_ERROR upstream down\r\n")
	newer := time.Now().UnixNano()
	older := newer - int64(100*time.Millisecond)

	h.mu.Lock()
	defer h.mu.Unlock()
	h.markDownLocked("a test")
	h.downUntil.Store(1) // a cool-down long over, and no call probed the server since
	h.errReplies.n.Store(serverDownAfter)
	h.errReplies.since = newer - 2*int64(errorWindow)
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
