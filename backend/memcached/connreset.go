//go:build !plan9

package memcached

import (
	"errors"
	"syscall"
)

// connBroken reports whether err is the server resetting the connection,
// or a write to one it closed: see dropped. The errors are the system's
// (brokenErrnos): ECONNRESET and EPIPE on Unix, Windows Sockets' own on
// Windows, where a reset connection fails with WSAECONNRESET, which no
// errors.Is of syscall.ECONNRESET matches.
func connBroken(err error) bool { return errnoIn(err, brokenErrnos) }

// errnoIn reports whether err wraps one of errnos (syscall.Errno values,
// held as errors so that a check allocates nothing: an errors.As into an
// Errno moved it to the heap at every call that failed).
func errnoIn(err error, errnos []error) bool {
	for _, e := range errnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// windowsBroken is brokenErrnos on Windows: a reset connection
// (WSAECONNRESET, 10054, and ERROR_NETNAME_DELETED, 64, which a socket's
// overlapped read completes with on a reset: "The specified network name
// is no longer available"), and one aborted (WSAECONNABORTED, 10053: the
// peer closed it while a write was under way). Written as numbers, which
// Windows' syscall names (connreset_windows_test.go checks them), so that
// connBroken's test of them runs on every system.
var windowsBroken = []error{syscall.Errno(10054), syscall.Errno(10053), syscall.Errno(64)}
