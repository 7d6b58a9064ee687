package memcached

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// windowsBroken's numbers are the errors Windows' syscall names.
func TestWindowsBrokenAreWindowsErrors(t *testing.T) {
	assert.Equal(t, []error{syscall.WSAECONNRESET, syscall.WSAECONNABORTED, syscall.ERROR_NETNAME_DELETED}, windowsBroken)
}
