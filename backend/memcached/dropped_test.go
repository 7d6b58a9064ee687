//go:build !plan9

package memcached

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// dropped tells a connection the server reset, as the net package wraps
// the reset (internal/connerr tells each system's errors).
func TestDroppedTellsAReset(t *testing.T) {
	err := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	assert.True(t, dropped(fmt.Errorf("memcache: %w", err)))
}
