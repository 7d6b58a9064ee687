//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem

import (
	"os"
	"syscall"
)

// tryFlock takes an exclusive advisory lock on f, shared with every process
// that locks the same file, without waiting: false when another open file
// holds it.
func tryFlock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch err {
		case nil:
			return true, nil
		case syscall.EWOULDBLOCK:
			return false, nil
		case syscall.EINTR:
			continue
		}
		return false, err
	}
}

// funlock releases the lock tryFlock took.
func funlock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		if err != syscall.EINTR {
			return err
		}
	}
}
