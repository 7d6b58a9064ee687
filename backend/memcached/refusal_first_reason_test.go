package memcached

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The refusal of a server marked down for its error replies keeps the
// reason that marked it down while later error replies keep it down (see
// dueLocked): the calls refused read the replies that took the server out.
func TestRefusalKeepsReasonThatMarkedServerDown(t *testing.T) {
	_, h := markedDownByErrors(t, []byte("SERVER_ERROR first reason\r\n"))
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
