//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem

import (
	"os"
	"syscall"
)

// flock takes (or, with unlock, releases) an exclusive advisory lock on f,
// shared with every process that locks the same file.
func flock(f *os.File, unlock bool) error {
	how := syscall.LOCK_EX
	if unlock {
		how = syscall.LOCK_UN
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}
