//go:build linux && !386 && !s390x

package memcached

import (
	"syscall"
	"unsafe"
)

// peekSocket peeks at what waits on the socket fd, into p, without taking
// it or waiting (recvfrom with MSG_PEEK, on a socket Go keeps
// non-blocking): n > 0 for bytes waiting, 0 and no error for the end of
// the stream. It asks for no sender address, where syscall.Recvfrom
// returns one: a Unix socket's, which it allocates (twice), on every peek
// that finds bytes.
func peekSocket(fd uintptr, p []byte) (int, error) {
	n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		syscall.MSG_PEEK, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
