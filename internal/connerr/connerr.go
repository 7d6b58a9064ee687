//go:build !plan9

package connerr

import (
	"errors"
	"syscall"
)

// Broken reports whether err is the server resetting the connection, or a
// write to one it closed (brokenErrnos).
func Broken(err error) bool { return In(err, brokenErrnos) }

// Refused reports whether err is the server refusing a connection
// (refusedErrnos).
func Refused(err error) bool { return In(err, refusedErrnos) }

// In reports whether err wraps one of errnos (syscall.Errno values, held
// as errors).
func In(err error, errnos []error) bool {
	for _, e := range errnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// WindowsBroken is Broken's errors on Windows: a reset connection
// (WSAECONNRESET, 10054, and ERROR_NETNAME_DELETED, 64, which a socket's
// overlapped read completes with on a reset: "The specified network name
// is no longer available"), and one aborted (WSAECONNABORTED, 10053: the
// peer closed it while a write was under way). Written as numbers, which
// Windows' syscall names (connerr_windows_test.go checks them), so that
// tests of them run on every system.
var WindowsBroken = []error{syscall.Errno(10054), syscall.Errno(10053), syscall.Errno(64)}

// WindowsRefused is Refused's errors on Windows: WSAECONNREFUSED, 10061
// (which golang.org/x/sys/windows names; syscall's ECONNREFUSED there is
// a number of its own that no socket call returns).
var WindowsRefused = []error{syscall.Errno(10061)}
