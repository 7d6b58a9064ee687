//go:build !plan9 && !windows

package memcached

import "syscall"

// brokenErrnos are the errors of a connection reset or closed by the
// server (see connBroken): ECONNRESET, and EPIPE for a write to one it
// closed.
var brokenErrnos = []error{syscall.ECONNRESET, syscall.EPIPE}
