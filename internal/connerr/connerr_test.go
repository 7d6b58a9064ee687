//go:build !plan9

package connerr

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Regression: on Windows a reset connection fails with WSAECONNRESET (or
// WSAECONNABORTED, or ERROR_NETNAME_DELETED from an overlapped read), and
// a refused one with WSAECONNREFUSED, which no errors.Is of
// syscall.ECONNRESET or ECONNREFUSED matches. The errors as a read, write
// or dial of the net package wraps them.
func TestWindowsErrnos(t *testing.T) {
	wrapped := func(op string, errno syscall.Errno) error {
		return fmt.Errorf("client: %w", &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError("wsa"+op, errno)})
	}
	for name, tc := range map[string]struct {
		err             error
		broken, refused bool
	}{
		"WSAECONNRESET read":         {wrapped("recv", 10054), true, false},
		"WSAECONNABORTED write":      {wrapped("send", 10053), true, false},
		"ERROR_NETNAME_DELETED read": {wrapped("recv", 64), true, false},
		"bare WSAECONNRESET":         {syscall.Errno(10054), true, false},
		"WSAECONNREFUSED dial":       {wrapped("connect", 10061), false, true},
		"another errno":              {wrapped("recv", 10060), false, false},
		"no errno":                   {io.ErrUnexpectedEOF, false, false},
		"nil":                        {nil, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.broken, In(tc.err, WindowsBroken), "broken")
			assert.Equal(t, tc.refused, In(tc.err, WindowsRefused), "refused")
		})
	}
}

// On this system, Broken and Refused tell its own errors, wrapped as the
// net package wraps them, and nothing else.
func TestThisSystemsErrnos(t *testing.T) {
	opErr := func(op string, errno error) error {
		return fmt.Errorf("client: %w", &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)})
	}
	for _, errno := range brokenErrnos {
		assert.True(t, Broken(opErr("read", errno)), "%v", errno)
		assert.False(t, Refused(opErr("read", errno)), "%v", errno)
	}
	for _, errno := range refusedErrnos {
		assert.True(t, Refused(opErr("dial", errno)), "%v", errno)
		assert.False(t, Broken(opErr("dial", errno)), "%v", errno)
	}
	assert.False(t, Broken(io.ErrUnexpectedEOF))
	assert.False(t, Refused(io.ErrUnexpectedEOF))
	assert.Zero(t, testing.AllocsPerRun(100, func() { Broken(io.ErrUnexpectedEOF) }), "a check allocates nothing")
}
