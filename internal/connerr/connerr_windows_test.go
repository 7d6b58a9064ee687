package connerr

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// WindowsBroken's numbers are the errors Windows' syscall names.
// WindowsRefused's, 10061, it does not name (its ECONNREFUSED is an
// invented number no call returns): it is golang.org/x/sys/windows's
// WSAECONNREFUSED.
func TestWindowsErrnosAreWindowsErrors(t *testing.T) {
	assert.Equal(t, []error{syscall.WSAECONNRESET, syscall.WSAECONNABORTED, syscall.ERROR_NETNAME_DELETED}, WindowsBroken)
}
