//go:build !plan9 && !windows

package connerr

import "syscall"

// brokenErrnos are Broken's errors: ECONNRESET, and EPIPE for a write to
// a connection the server closed.
var brokenErrnos = []error{syscall.ECONNRESET, syscall.EPIPE}

// refusedErrnos are Refused's errors: ECONNREFUSED.
var refusedErrnos = []error{syscall.ECONNREFUSED}
