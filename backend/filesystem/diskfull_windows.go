//go:build windows

package filesystem

import (
	"errors"
	"syscall"
)

// Windows' errors for a full disk (a quota's too): ERROR_HANDLE_DISK_FULL
// and ERROR_DISK_FULL, which package syscall does not name.
const (
	errorHandleDiskFull syscall.Errno = 39
	errorDiskFull       syscall.Errno = 112
)

// noSpace reports an error of a write refused for want of room on the disk.
func noSpace(err error) bool {
	return errors.Is(err, errorDiskFull) || errors.Is(err, errorHandleDiskFull)
}
