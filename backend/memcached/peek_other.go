//go:build unix && !(linux && !386 && !s390x)

package memcached

import "syscall"

// peekSocket is peekSocket of peek_linux.go with syscall.Recvfrom, on the
// systems where this package does not make the system call itself (linux
// on 386 and s390x reach recvfrom through socketcall): a peek that finds
// bytes on a Unix socket allocates its sender address there.
func peekSocket(fd uintptr, p []byte) (int, error) {
	n, _, err := syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK)
	return n, err
}
