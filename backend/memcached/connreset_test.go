//go:build !plan9

package memcached

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
// WSAECONNABORTED, or ERROR_NETNAME_DELETED from an overlapped read),
// which connBroken, matching syscall.ECONNRESET and EPIPE only, did not
// tell: a reset pooled connection failed its call there, where it is
// tried again on a new one elsewhere. The errors as a read or write of
// the net package wraps them.
func TestConnBrokenMatchesWindowsResets(t *testing.T) {
	wrapped := func(op string, errno syscall.Errno) error {
		return fmt.Errorf("memcache: %w", &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError("wsa"+op, errno)})
	}
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"WSAECONNRESET read":         {wrapped("recv", 10054), true},
		"WSAECONNABORTED write":      {wrapped("send", 10053), true},
		"ERROR_NETNAME_DELETED read": {wrapped("recv", 64), true},
		"bare WSAECONNRESET":         {syscall.Errno(10054), true},
		"another errno":              {wrapped("recv", 10060), false},
		"no errno":                   {io.ErrUnexpectedEOF, false},
		"nil":                        {nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, errnoIn(tc.err, windowsBroken))
		})
	}
}

// On this system, connBroken tells its own resets, wrapped as the net
// package wraps them, and nothing else.
func TestConnBrokenMatchesThisSystemsResets(t *testing.T) {
	for _, errno := range brokenErrnos {
		err := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}
		assert.True(t, connBroken(err), "%v", errno)
		assert.True(t, dropped(fmt.Errorf("memcache: %w", err)), "dropped(%v)", errno)
	}
	assert.False(t, connBroken(io.ErrUnexpectedEOF))
}
