//go:build unix

package filesystem

import (
	"errors"
	"syscall"
)

// noSpace reports an error of a write refused for want of room: the file
// system is full (ENOSPC) or the user's disk quota is (EDQUOT).
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
