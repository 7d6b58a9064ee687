//go:build !plan9

package memcached

import (
	"errors"
	"syscall"
)

// connBroken reports whether err is the server resetting the connection
// (ECONNRESET) or a write to one it closed (EPIPE): see dropped.
func connBroken(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
