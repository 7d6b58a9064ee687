package memcached

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The refusal of a server marked down for its error replies keeps the
// reason that marked it down while later error replies keep it down (see
// dueLocked): the calls refused read the replies that took the server out.
func TestRefusalKeepsReasonThatMarkedServerDown(t *testing.T) {
	l, err := newServerList([]string{"127.0.0.1:1"})
	require.NoError(t, err)
	h := l.health[0]
	l.probe = func(*serverHealth) error { return errors.New("SERVER_ERROR upstream down") }
	h.mu.Lock()
	h.errReplies.n.Store(serverDownAfter)
	h.errReplies.since = time.Now().Add(-2 * errorWindow).UnixNano()
	h.mu.Unlock()
	h.errorReply([]byte("SERVER_ERROR first reason\r\n"))
	require.NotNil(t, h.refusal.Load(), "marked down by its probe")

	for range serverDownAfter {
		h.errorReply([]byte("SERVER_ERROR later reason\r\n"))
	}
	require.NotZero(t, h.downUntil.Load(), "kept down")
	r := h.refusal.Load()
	for _, err := range []error{r.down, r.down.(*refusedError).named("get"), r.allDown} {
		assert.Contains(t, err.Error(), `"SERVER_ERROR first reason"`)
		assert.NotContains(t, err.Error(), "later reason")
	}
}
